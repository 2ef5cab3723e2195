import type { Transaction } from 'kysely';
import { recordAudit } from '../audit/audit.ts';
import type { Database, User } from '../db/schema.ts';
import { queueNotification } from '../notifications/outbox.ts';
import { signInAssurance, type SignInProof } from '../policy/assurance.ts';
import { createSession, revokeSession } from '../sessions/sessions.ts';
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
): Promise<EstablishedSession> {
  const proof = signInAssurance(input.proof);
  if (requester.current) await revokeSession(trx, requester.current.session.id, 'signed_out', requester.now);
  const established = await createSession(trx, deps.keyring, input.user.id, proof, sessionLifetimes(deps.config), requester);
  await recordAudit(trx, requester, {
    action: 'session.create',
    outcome: 'success',
    actorUserId: input.user.id,
    subjectUserId: input.user.id,
    sessionId: established.session.id,
    details: { method: input.proof.method, aal: proof.aal, amr: proof.amr, recovery: proof.recovery ?? false },
  });
  await queueNotification(trx, {
    userId: input.user.id,
    kind: 'new_sign_in',
    payload: { sessionId: established.session.id, method: input.proof.method },
    now: requester.now,
    from: requester,
  });
  return established;
}
