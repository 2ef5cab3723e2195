import type { Transaction } from 'kysely';
import { recordAudit, type AuditEntry } from '../audit/audit.ts';
import type { DeferredWrites } from '../audit/deferred-writes.ts';
import type { Database, User } from '../db/schema.ts';
import { notificationInsert, queueNotification } from '../notifications/outbox.ts';
import { signInAssurance, type SignInProof } from '../policy/assurance.ts';
import { cancelOnSignIn } from '../recovery/recovery.ts';
import { createSession, prepareSession, revokeSession } from '../sessions/sessions.ts';
import { sessionLifetimes, type AuthDeps, type EstablishedSession, type Requester } from './requester.ts';

/**
 * The one seam every sign-in (and sign-up) ends at, inside the flow's transaction: the policy
 * says what the proof is worth, the browser's previous session ends (a sign-in always gets a new
 * id, so a planted token is useless), the new session is created, audited, and the user is told
 * of the new sign-in. A sign-in path that bypassed this would bypass every rule hooked in here.
 */
export async function completeSignIn(
  trx: Transaction<Database>,
  deps: AuthDeps,
  requester: Requester,
  input: { user: User; proof: SignInProof },
  /**
   * Given (the passkey sign-in's hot path): the session, its audit row and the notification join
   * the request's other writes and go to the database in one statement before the commit.
   */
  deferred?: DeferredWrites,
): Promise<EstablishedSession> {
  const proof = signInAssurance(input.proof);
  // A sign-in during a recovery's wait cancels it (the user still has a way in, or it was not theirs).
  // Conditional on the flag of the user row every sign-in has already read: no statement otherwise,
  // so the passkey hot path's statement budget is untouched.
  if (input.user.recovery_pending) await cancelOnSignIn(trx, requester, input.user.id);
  if (requester.current) await revokeSession(trx, requester.current.session.id, 'signed_out', requester.now);
  const audit: AuditEntry = {
    action: 'session.create',
    outcome: 'success',
    actorUserId: input.user.id,
    subjectUserId: input.user.id,
    sessionId: null,
    details: { method: input.proof.method, aal: proof.aal, amr: proof.amr, recovery: proof.recovery ?? false },
  };
  const notification = (sessionId: string) => ({
    userId: input.user.id,
    kind: 'new_sign_in' as const,
    payload: { sessionId, method: input.proof.method },
    now: requester.now,
    from: requester,
  });
  if (deferred) {
    const { insert, ...established } = prepareSession(trx, deps.keyring, input.user.id, proof, sessionLifetimes(deps.config), requester);
    deferred.add(insert);
    deferred.audit({ ...audit, sessionId: established.session.id });
    deferred.add(notificationInsert(trx, notification(established.session.id)));
    return established;
  }
  const established = await createSession(trx, deps.keyring, input.user.id, proof, sessionLifetimes(deps.config), requester);
  await recordAudit(trx, requester, { ...audit, sessionId: established.session.id });
  await queueNotification(trx, notification(established.session.id));
  return established;
}
