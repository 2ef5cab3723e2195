import { adoptionStats, type AdoptionCounts } from '../admin/stats.ts';
import type { CliContext } from './context.ts';

/** `latch stats [--json]`: passkey adoption now, for the organization and each group. */
export async function statsCommand(context: CliContext, options: { json?: boolean } = {}): Promise<void> {
  const stats = await adoptionStats(context.deps.db);
  if (options.json) {
    context.out(JSON.stringify(stats, null, 2));
    return;
  }
  const rows: Array<[string, AdoptionCounts]> = [['(organization)', stats.organization], ...stats.groups.filter((group) => !group.isDefault).map((group) => [group.name, group.counts] as [string, AdoptionCounts])];
  const header = ['group', 'users', 'passkey only', 'passkey+TOTP', 'TOTP only', 'no 2nd factor', 'unused backup codes'];
  const table = [header, ...rows.map(([name, c]) => [name, c.users, c.passkeyOnly, c.passkeyAndTotp, c.totpOnly, c.noSecondFactor, c.withUnusedBackupCodes].map(String))];
  const widths = header.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  for (const row of table) context.out(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ').trimEnd());
}
