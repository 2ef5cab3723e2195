import type { Kysely, Transaction } from 'kysely';
import type { AuditEntry } from '../audit/audit.ts';
import { DeferredWrites } from '../audit/deferred-writes.ts';
import { signInsPerDayIncrement } from '../audit/sign-ins-per-day.ts';
import type { Database, User } from '../db/schema.ts';
import { notificationInsert } from '../notifications/outbox.ts';
import { signInAssurance, type SignInProof } from '../policy/assurance.ts';
import { loadRolloutFacts, passkeySignInCount, retireTotp, totpRetirementDue, type TotpRetirementFacts } from '../groups/rollout.ts';
import { decideRollout, isFallbackSignIn, PASSKEY_REQUIRED, type RolloutOutcome } from '../policy/rollout.ts';
import { createSession, prepareSession, revokeSession, sessionRevocation, type SessionRolloutMarks } from '../sessions/sessions.ts';
import { cancelOnSignIn } from '../recovery/recovery.ts';
import { sessionLifetimes, type AuthDeps, type EstablishedSession, type Requester } from './requester.ts';

/**
 * The one seam every sign-in (and sign-up) ends at, inside the flow's transaction: the policy
 * says what the proof is worth, the browser's previous session ends (a sign-in always gets a new
 * id, so a planted token is useless), the new session is created, audited, and the user is told
 * of the new sign-in. A sign-in path that bypassed this would bypass every rule hooked in here.
 */
export async function completeSignIn(
  /** The flow's transaction; or, with `deferred` (the passkey sign-in), the database: the writes are then one guarded statement. */
  trx: Kysely<Database> | Transaction<Database>,
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
): Promise<EstablishedSession & { rollout: RolloutOutcome; retirement: TotpRetirementDue | null }> {
  const proof = signInAssurance(input.proof);
  // A sign-in during a recovery's wait cancels it (the user still has a way in, or it was not theirs).
  // Conditional on the flag of the user row every sign-in has already read: no statement otherwise,
  // so the passkey hot path's statement budget is untouched.
  if (input.user.recovery_pending) await cancelOnSignIn(trx, requester, input.user.id);
  if (requester.current) {
    if (deferred) deferred.add(sessionRevocation(trx, requester.current.session.id, 'signed_out', requester.now));
    else await revokeSession(trx, requester.current.session.id, 'signed_out', requester.now);
  }
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
  const retirement = input.proof.method === 'passkey' && input.retirement ? await countPasskeySignIn(trx, input.user.id, input.retirement, deferred) : null;
  // The audit row, the notification and the dashboard's count of sign-ins per day
  // (src/audit/sign-ins-per-day.ts) go in one statement: the count commits with its audit row.
  const recordSignIn = (writes: DeferredWrites, sessionId: string) => {
    writes.audit({ ...audit, sessionId });
    writes.add(notificationInsert(trx, notification(sessionId)));
    writes.add(signInsPerDayIncrement(trx, requester.now, input.proof.method));
  };
  if (deferred) {
    const { insert, ...established } = prepareSession(trx, deps.keyring, input.user.id, proof, sessionLifetimes(deps.config), requester, marks);
    deferred.add(insert);
    recordSignIn(deferred, established.session.id);
    return { ...established, rollout, retirement };
  }
  const established = await createSession(trx, deps.keyring, input.user.id, proof, sessionLifetimes(deps.config), requester, marks);
  const writes = new DeferredWrites(requester);
  recordSignIn(writes, established.session.id);
  await writes.flush(trx);
  return { ...established, rollout, retirement };
}

/**
 * Counts a passkey sign-in with the request's other writes (no round trip of its own) and says
 * whether this sign-in reached the user's groups' threshold. The retirement itself runs after the
 * sign-in commits (`retireTotpAfterSignIn`): inside it, two sign-ins with two passkeys would each
 * hold their passkey's lock and wait for the other's in revokeFactor (a deadlock).
 */
async function countPasskeySignIn(trx: Kysely<Database> | Transaction<Database>, userId: string, facts: TotpRetirementFacts, deferred?: DeferredWrites): Promise<TotpRetirementDue | null> {
  if (deferred) deferred.add(passkeySignInCount(trx, userId));
  else await passkeySignInCount(trx, userId).execute();
  return totpRetirementDue(facts) ? { userId, totpFactorId: facts.totpFactorId!, passkeySignIns: facts.passkeySignIns + 1 } : null;
}

/** A TOTP the passkey sign-in found due for retirement. */
export interface TotpRetirementDue {
  userId: string;
  totpFactorId: string;
  passkeySignIns: number;
}

/**
 * Retires the TOTP a passkey sign-in found due, in its own transaction after the sign-in's (the
 * revocation and its audit row and notification commit together). A failure here leaves the
 * sign-in standing and the TOTP active; the next passkey sign-in (the count stays at or past the
 * threshold) tries again.
 */
export async function retireTotpAfterSignIn(deps: AuthDeps, requester: Requester, due: TotpRetirementDue | null): Promise<void> {
  if (!due) return;
  try {
    await deps.db.transaction().execute((trx) => retireTotp(trx, requester, due));
  } catch {
    // `factor_not_found`: removed meanwhile (by the user, an admin, or a concurrent sign-in's
    // retirement). Anything else (the database went away) must not turn a committed sign-in into
    // an error either: the TOTP stays active and the next passkey sign-in retires it.
  }
}
