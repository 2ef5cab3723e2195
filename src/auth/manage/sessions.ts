import { recordAudit } from '../../audit/audit.ts';
import { LatchError } from '../../errors.ts';
import { requireAllowed } from '../../policy/enforce.ts';
import { revokeOtherSessions, revokeSession } from '../../sessions/sessions.ts';
import { assertIdShape, byOwner, signedIn, type AuthDeps, type Requester } from '../requester.ts';

export async function signOut(deps: AuthDeps, requester: Requester): Promise<void> {
  const current = signedIn(requester);
  const { session } = current;
  await deps.db.transaction().execute(async (trx) => {
    await revokeSession(trx, session.id, 'signed_out', requester.now);
    await recordAudit(trx, requester, { action: 'session.sign_out', outcome: 'success', ...byOwner(current) });
  });
}

/**
 * Ends one of the user's sessions. Ending this one is signing out; ending another one is what
 * "end other sessions" does one at a time, so it needs what that needs.
 */
export async function endOwnSession(deps: AuthDeps, requester: Requester, input: { sessionId: string }): Promise<{ signedOut: boolean }> {
  assertIdShape(input.sessionId, 'session_not_found');
  const current = signedIn(requester);
  const { session } = current;
  const signedOut = input.sessionId === session.id;
  await deps.db.transaction().execute(async (trx) => {
    if (!signedOut) await requireAllowed(trx, 'sessions.revoke_others', current, requester.now);
    const ended = await revokeSession(trx, input.sessionId, 'ended_by_user', requester.now, session.user_id);
    if (!ended) throw new LatchError('session_not_found');
    await recordAudit(trx, requester, {
      action: 'session.end',
      outcome: 'success',
      ...byOwner(current),
      details: { endedSessionId: input.sessionId },
    });
  });
  return { signedOut };
}

export async function endOtherSessions(deps: AuthDeps, requester: Requester): Promise<{ ended: number }> {
  const current = signedIn(requester);
  const { session } = current;
  return deps.db.transaction().execute(async (trx) => {
    await requireAllowed(trx, 'sessions.revoke_others', current, requester.now);
    const ids = await revokeOtherSessions(trx, session.user_id, session.id, 'ended_by_user', requester.now);
    await recordAudit(trx, requester, {
      action: 'session.revoke_others',
      outcome: 'success',
      ...byOwner(current),
      details: { ended: ids.length },
    });
    return { ended: ids.length };
  });
}
