import { recordAudit } from '../../audit/audit.ts';
import type { Factor } from '../../db/schema.ts';
import { LatchError } from '../../errors.ts';
import { renameFactor } from '../../factors/factors.ts';
import { clearPasskeyFlag } from '../../factors/passkey-flag.ts';
import { revokeFactor } from '../../factors/revocation.ts';
import { requireAllowed } from '../../policy/enforce.ts';
import { assertIdShape, byOwner, signedIn, type AuthDeps, type Requester } from '../requester.ts';

export async function renameOwnFactor(deps: AuthDeps, requester: Requester, input: { factorId: string; label: string }): Promise<Factor> {
  assertIdShape(input.factorId, 'factor_not_found');
  const current = signedIn(requester);
  const { session, user } = current;
  return deps.db.transaction().execute(async (trx) => {
    await requireAllowed(trx, 'factor.rename', current, requester.now);
    const renamed = await renameFactor(trx, user.id, input.factorId, input.label);
    if (!renamed) throw new LatchError('factor_not_found');
    await recordAudit(trx, requester, {
      action: 'factor.rename',
      outcome: 'success',
      ...byOwner(current),
      factorId: input.factorId,
      details: { kind: renamed.kind, label: input.label },
    });
    return renamed;
  });
}

/**
 * The owner removes one of their factors through the one revocation path. The refusal of the
 * last way to sign in commits its audit row before it is thrown. `signedOut`: this session rested
 * on the factor and ended with it.
 */
export async function removeOwnFactor(deps: AuthDeps, requester: Requester, input: { factorId: string }): Promise<{ factor: Factor; endedSessions: number; signedOut: boolean }> {
  assertIdShape(input.factorId, 'factor_not_found');
  const current = signedIn(requester);
  const { session, user } = current;
  const result = await deps.db.transaction().execute(async (trx) => {
    await requireAllowed(trx, 'factor.remove', current, requester.now);
    return revokeFactor(trx, requester, { userId: user.id, factorId: input.factorId, actorUserId: user.id, actorSessionId: session.id, reason: 'removed_by_user' });
  });
  if (result.outcome === 'refused_last_factor') throw new LatchError('last_factor');
  return { factor: result.factor, endedSessions: result.endedSessionIds.length, signedOut: result.endedSessionIds.includes(session.id) };
}

/**
 * "This was me": the owner vouches for a passkey flagged as a possible clone, so it signs in
 * again. As strong a decision as removing it, so it asks what removing a factor asks (a fresh
 * step-up, which the flagged passkey itself cannot give).
 */
export async function clearOwnPasskeyFlag(deps: AuthDeps, requester: Requester, input: { factorId: string }): Promise<Factor> {
  assertIdShape(input.factorId, 'factor_not_found');
  const current = signedIn(requester);
  const { session, user } = current;
  const result = await deps.db.transaction().execute(async (trx) => {
    await requireAllowed(trx, 'factor.remove', current, requester.now);
    return clearPasskeyFlag(trx, requester, { userId: user.id, factorId: input.factorId, actorUserId: user.id, actorSessionId: session.id });
  });
  if (result.outcome === 'not_found') throw new LatchError('factor_not_found');
  return result.factor;
}
