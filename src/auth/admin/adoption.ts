import { adoptionDashboard, exportUsersPage, USER_EXPORT_HEADER, csvLine, userExportLine, ADOPTION_DAYS_DEFAULT, type AdoptionDashboard } from '../../admin/adoption.ts';
import { byAdmin } from '../../admin/actor.ts';
import { recordAudit } from '../../audit/audit.ts';
import type { AuthDeps, Requester } from '../requester.ts';
import { asAdmin } from './admin-requester.ts';

/** The adoption dashboard and the user export, as admin flows (admin.read: a fresh passkey proof). */

export async function viewAdoption(deps: AuthDeps, requester: Requester, input: { adoptionDays?: number } = {}): Promise<AdoptionDashboard> {
  return asAdmin(deps, requester, 'admin.read', (trx) => adoptionDashboard(trx, requester.now, { adoptionDays: input.adoptionDays ?? ADOPTION_DAYS_DEFAULT }));
}

export const EXPORT_PAGE_SIZE = 1000;

/**
 * The user list as CSV, a page at a time so 100,000 users never sit in memory: each page is its
 * own admin.read (the policy engine asks again, so an export cannot outlive the proof by much).
 * The export itself is audited (who took the list, and when) before the first line.
 */
export async function* exportUsersCsv(deps: AuthDeps, requester: Requester, pageSize = EXPORT_PAGE_SIZE): AsyncGenerator<string> {
  let after: string | null = null;
  let first = true;
  for (;;) {
    const page = await asAdmin(deps, requester, 'admin.read', async (trx, actor) => {
      if (first) {
        await recordAudit(trx, requester, { action: 'admin.export_users', outcome: 'success', ...byAdmin(actor, null, { format: 'csv' }) });
      }
      return exportUsersPage(trx, { limit: pageSize, after });
    });
    if (first) yield csvLine(USER_EXPORT_HEADER);
    first = false;
    if (page.rows.length > 0) yield page.rows.map(userExportLine).join('');
    if (page.nextAfter === null) return;
    after = page.nextAfter;
  }
}
