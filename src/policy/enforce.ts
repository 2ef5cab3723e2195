import type { Kysely, Transaction } from 'kysely';
import type { Database, Session } from '../db/schema.ts';
import { LatchError } from '../errors.ts';
import { activeKinds, listActiveFactors } from '../factors/factors.ts';
import { decide, type SensitiveAction } from './policy.ts';

/**
 * Asks `decide()` about this session and throws what the client needs when the answer is not
 * allow: `step_up_required` with the methods and freshness, or `forbidden`.
 */
export async function requireAllowed(
  db: Kysely<Database> | Transaction<Database>,
  action: SensitiveAction,
  session: Session,
  now: Date,
): Promise<void> {
  const factors = await listActiveFactors(db, session.user_id);
  const decision = decide(
    action,
    { aal: session.aal, phishingResistant: session.phishing_resistant, lastVerifiedAt: session.last_verified_at, amr: session.amr, steppedUpAt: session.stepped_up_at },
    {
      now,
      activeFactorKinds: activeKinds(factors),
      hasUserVerifyingPasskey: factors.some((factor) => factor.kind === 'passkey' && factor.user_verified === true),
      isAdmin: false, // admins arrive with their own issue
    },
  );
  if (decision.decision === 'allow') return;
  if (decision.decision === 'step_up_required') {
    throw new LatchError('step_up_required', undefined, { methods: decision.methods, maxAgeSeconds: decision.maxAgeSeconds });
  }
  throw new LatchError('forbidden');
}
