import type { Kysely, Transaction } from 'kysely';
import type { Database, Session, User } from '../db/schema.ts';
import { LatchError } from '../errors.ts';
import { activeKinds, listActiveFactors } from '../factors/factors.ts';
import { decideRequirement, policyTable, type Requirement, type SensitiveAction, type SessionFacts } from './policy.ts';

/**
 * Asks `decide()` about this session and throws what the client needs when the answer is not
 * allow: `step_up_required` with the methods and freshness, or `forbidden` with the reason.
 */
export async function requireAllowed(
  db: Kysely<Database> | Transaction<Database>,
  action: SensitiveAction,
  auth: { session: Session; user: Pick<User, 'is_admin'> },
  now: Date,
): Promise<void> {
  await requireSatisfied(db, policyTable[action], auth, now);
}

/** `requireAllowed` for a requirement that is not an action of the table (a forward-auth rule's). */
export async function requireSatisfied(
  db: Kysely<Database> | Transaction<Database>,
  requirement: Requirement,
  auth: { session: Session; user: Pick<User, 'is_admin'> },
  now: Date,
): Promise<void> {
  const { session, user } = auth;
  // A factor bound in this session cannot step it up: it proves nothing the session did not.
  const usable = (await listActiveFactors(db, session.user_id)).filter((factor) => factor.bound_session_id !== session.id);
  const decision = decideRequirement(requirement, sessionFacts(session), {
    now,
    activeFactorKinds: activeKinds(usable),
    hasUserVerifyingPasskey: usable.some((factor) => factor.kind === 'passkey' && factor.user_verified === true),
    isAdmin: user.is_admin,
  });
  if (decision.decision === 'allow') return;
  if (decision.decision === 'step_up_required') {
    throw new LatchError('step_up_required', undefined, { methods: decision.methods, maxAgeSeconds: decision.maxAgeSeconds });
  }
  if (decision.reason === 'no_step_up_method') {
    throw new LatchError(
      'forbidden',
      'This needs two factors, and nothing you can confirm with here gives two: sign in with a passkey that verifies you (PIN or biometrics) or with your password and authenticator app.',
      { reason: decision.reason },
    );
  }
  throw new LatchError('forbidden', undefined, { reason: decision.reason });
}

/** What the policy reads of a session row. */
export function sessionFacts(session: Session): SessionFacts {
  return { aal: session.aal, phishingResistant: session.phishing_resistant, lastVerifiedAt: session.last_verified_at, amr: session.amr, steppedUpAt: session.stepped_up_at, passkeyVerifiedAt: session.passkey_verified_at };
}
