import { recordAudit } from '../../audit/audit.ts';
import { recordInviteSkipped } from '../../groups/rollout.ts';
import { byOwner, signedIn, type AuthDeps, type Requester } from '../requester.ts';

/**
 * "Not now" on the passkey invitation: the session stops showing it, and the user is asked again
 * after their groups' `invite_again_after_days` (src/policy/rollout.ts). A restricted session
 * cannot get here (the session loader answers `passkey_required`): the requirement is no invitation.
 */
export async function skipPasskeyInvitation(deps: AuthDeps, requester: Requester): Promise<void> {
  const current = signedIn(requester);
  await deps.db.transaction().execute(async (trx) => {
    await recordInviteSkipped(trx, current.user.id, requester.now);
    await trx.updateTable('sessions').set({ passkey_invited_at: null }).where('id', '=', current.session.id).execute();
    await recordAudit(trx, requester, { action: 'rollout.invite_skip', outcome: 'success', ...byOwner(current), details: {} });
  });
}
