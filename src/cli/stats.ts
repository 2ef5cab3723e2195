import { adoptionDashboard, type AdoptionDashboard } from '../admin/adoption.ts';
import type { AdoptionCounts } from '../admin/stats.ts';
import type { CliContext } from './context.ts';

/**
 * `latch stats [--json]`: the adoption dashboard's figures (the same function as
 * `GET /api/admin/adoption` and /admin): users by factor state per group, deadlines and TOTP-only
 * users, sign-ins by method over 30 days, users with a passkey over time, exemptions.
 */
export async function statsCommand(context: CliContext, options: { json?: boolean } = {}): Promise<void> {
  const dashboard = await adoptionDashboard(context.deps.db, context.clock.now());
  if (options.json) {
    context.out(JSON.stringify(dashboard, null, 2));
    return;
  }
  for (const line of statsText(dashboard)) context.out(line);
}

function table(rows: string[][], leftColumns = 1): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column < leftColumns ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ').trimEnd());
}

export function statsText(dashboard: AdoptionDashboard): string[] {
  const rows: Array<[string, AdoptionCounts]> = [
    ['(organization)', dashboard.organization],
    ...dashboard.groups.filter((group) => !group.isDefault).map((group) => [group.name, group.counts] as [string, AdoptionCounts]),
  ];
  const header = ['group', 'users', 'passkey only', 'passkey+TOTP', 'TOTP only', 'no 2nd factor', 'unused backup codes'];
  const lines = table([header, ...rows.map(([name, c]) => [name, c.users, c.passkeyOnly, c.passkeyAndTotp, c.totpOnly, c.noSecondFactor, c.withUnusedBackupCodes].map(String))]);

  lines.push('', ...table(
    [
      ['rollout', 'mode', 'deadline', 'days left', 'still TOTP only'],
      ...dashboard.groups.map((group) => [
        group.isDefault ? `${group.name} (everyone)` : group.name,
        group.mode,
        group.deadline?.slice(0, 10) ?? '-',
        group.daysLeft === null ? '-' : String(group.daysLeft),
        String(group.totpOnly.total),
      ]),
    ],
    3,
  ));

  const { signIns } = dashboard;
  const total = Object.values(signIns.totals).reduce((sum, n) => sum + n, 0);
  lines.push('', `sign-ins, last ${signIns.days.length} days: ${total}${signIns.methods.length ? ` (${signIns.methods.map((method) => `${method} ${signIns.totals[method]}`).join(', ')})` : ''}`);
  const series = dashboard.adoptionOverTime;
  if (series.length > 0) {
    const first = series[0]!;
    const last = series.at(-1)!;
    lines.push(`users with a passkey: ${last.usersWithPasskey} on ${last.day} (${first.usersWithPasskey} on ${first.day})`);
  }
  lines.push(`exemptions in force: ${dashboard.exemptions.total}`);
  for (const exemption of dashboard.exemptions.items) lines.push(`  ${exemption.username}  until ${exemption.until?.slice(0, 10) ?? 'lifted'}  ${exemption.reason}`);
  return lines;
}
