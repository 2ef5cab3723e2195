import type { Transaction } from 'kysely';
import { recordAudit, type AuditEntry } from '../audit/audit.ts';
import type { DeferredWrites } from '../audit/deferred-writes.ts';
import type { Database, User } from '../db/schema.ts';
import { notificationInsert, queueNotification } from '../notifications/outbox.ts';
import { signInAssurance, type SignInProof } from '../policy/assurance.ts';
import { LatchError } from '../errors.ts';
import { loadRolloutFacts, passkeySignInCount, retireTotp, totpRetirementDue, type TotpRetirementFacts } from '../groups/rollout.ts';
import { decideRollout, isFallbackSignIn, PASSKEY_REQUIRED, type RolloutOutcome } from '../policy/rollout.ts';
import { createSession, prepareSession, revokeSession, type SessionRolloutMarks } from '../sessions/sessions.ts';
import { cancelOnSignIn } from '../recovery/recovery.ts';
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
  input: {
    user: User;
    proof: SignInProof;
    /** A passkey sign-in: the facts TOTP retirement needs, read with the passkey (src/webauthn/assertion-state.ts). */
    retirement?: TotpRetirementFacts | null;
  },
  /**
   * Given (the passkey sign-in's hot path): the session, its audit row and the notification join
   * the request's other writes and go to the database in one statement before the commit.
   */
  deferred?: DeferredWrites,
): Promise<EstablishedSession & { rollout: RolloutOutcome }> {
  const proof = signInAssurance(input.proof);
  // A sign-in during a recovery's wait cancels it (the user still has a way in, or it was not theirs).
  // Conditional on the flag of the user row every sign-in has already read: no statement otherwise,
  // so the passkey hot path's statement budget is untouched.
  if (input.user.recovery_pending) await cancelOnSignIn(trx, requester, input.user.id);
  if (requester.current) await revokeSession(trx, requester.current.session.id, 'signed_out', requester.now);
  // The passkey rollout (src/policy/rollout.ts): only a fallback sign-in reads the user's groups,
  // exemption and factors; a passkey sign-in never does (its hot path keeps its round trips).
  const rollout: RolloutOutcome = isFallbackSignIn(input.proof.method)
    ? decideRollout({ ...(await loadRolloutFacts(trx, input.user.id)), method: input.proof.method, now: requester.now })
    : { kind: 'none' };
  const marks: SessionRolloutMarks = {
    restrictedReason: rollout.kind === 'restricted' ? PASSKEY_REQUIRED : null,
    passkeyInvitedAt: rollout.kind === 'invite' ? requester.now : null,
    rolloutDeadline: rollout.kind === 'restricted' ? rollout.since : rollout.kind === 'invite' ? rollout.deadline : null,
  };
  const audit: AuditEntry = {
    action: 'session.create',
    outcome: 'success',
    actorUserId: input.user.id,
    subjectUserId: input.user.id,
    sessionId: null,
    details: { method: input.proof.method, aal: proof.aal, amr: proof.amr, recovery: proof.recovery ?? false, ...(rollout.kind !== 'none' ? { rollout: rollout.kind } : {}) },
  };
  const notification = (sessionId: string) => ({
    userId: input.user.id,
    kind: 'new_sign_in' as const,
    payload: { sessionId, method: input.proof.method },
    now: requester.now,
    from: requester,
  });
  if (input.proof.method === 'passkey' && input.retirement) await countPasskeySignIn(trx, requester, input.user.id, input.retirement, deferred);
  if (deferred) {
    const { insert, ...established } = prepareSession(trx, deps.keyring, input.user.id, proof, sessionLifetimes(deps.config), requester, marks);
    deferred.add(insert);
    deferred.audit({ ...audit, sessionId: established.session.id });
    deferred.add(notificationInsert(trx, notification(established.session.id)));
    return { ...established, rollout };
  }
  const established = await createSession(trx, deps.keyring, input.user.id, proof, sessionLifetimes(deps.config), requester, marks);
  await recordAudit(trx, requester, { ...audit, sessionId: established.session.id });
  await queueNotification(trx, notification(established.session.id));
  return { ...established, rollout };
}

/**
 * Counts a passkey sign-in (with the request's other writes when deferred) and, on the sign-in
 * that reaches the user's groups' threshold, retires their TOTP. Only that one sign-in pays the
 * revocation's statements; every other one costs nothing but a row in the deferred write.
 */
async function countPasskeySignIn(trx: Transaction<Database>, requester: Requester, userId: string, facts: TotpRetirementFacts, deferred?: DeferredWrites) {
  if (deferred) deferred.add(passkeySignInCount(trx, userId));
  else await passkeySignInCount(trx, userId).execute();
  if (!totpRetirementDue(facts)) return;
  try {
    await retireTotp(trx, requester, { userId, totpFactorId: facts.totpFactorId!, passkeySignIns: facts.passkeySignIns + 1 });
  } catch (error) {
    // Removed meanwhile (by the user or an admin): nothing left to retire, and the sign-in stands.
    if (!(error instanceof LatchError && error.code === 'factor_not_found')) throw error;
  }
}
