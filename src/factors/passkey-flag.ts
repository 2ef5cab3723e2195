import type { Transaction } from 'kysely';
import { recordAudit, type RequestContext } from '../audit/audit.ts';
import type { Database, Factor } from '../db/schema.ts';

/**
 * A passkey flagged as a possible clone (its sign counter went backwards) is refused at sign-in
 * and step-up until its owner either removes it (revokeFactor) or clears the flag here: "this was
 * me" — e.g. they restored the authenticator from a backup, which winds its counter back.
 *
 * Clearing also resets the stored counter to 0, so the key the owner vouches for becomes the
 * baseline at its next use. Should two copies really exist, they still cannot both keep counting
 * up past each other: the one behind trips the flag again at its next use.
 */
export type ClearPasskeyFlagResult =
  | { outcome: 'cleared'; factor: Factor }
  | { outcome: 'not_flagged'; factor: Factor }
  | { outcome: 'not_found' };

export async function clearPasskeyFlag(
  trx: Transaction<Database>,
  context: RequestContext,
  input: { userId: string; factorId: string; actorUserId: string; actorSessionId: string | null },
): Promise<ClearPasskeyFlagResult> {
  // Locked, so a concurrent sign-in with this passkey sees either the flag or the reset counter.
  const factor = await trx
    .selectFrom('factors')
    .selectAll()
    .where('id', '=', input.factorId)
    .where('user_id', '=', input.userId)
    .where('kind', '=', 'passkey')
    .where('status', '=', 'active')
    .forUpdate()
    .executeTakeFirst();
  if (!factor) return { outcome: 'not_found' };
  if (factor.flagged_at === null) return { outcome: 'not_flagged', factor };

  const cleared = await trx
    .updateTable('factors')
    .set({ flagged_at: null, flagged_reason: null, sign_count: 0 })
    .where('id', '=', factor.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordAudit(trx, context, {
    action: 'factor.flag_cleared',
    outcome: 'success',
    actorUserId: input.actorUserId,
    subjectUserId: input.userId,
    factorId: factor.id,
    sessionId: input.actorSessionId,
    details: {
      kind: 'passkey',
      flaggedReason: factor.flagged_reason,
      flaggedAt: factor.flagged_at.toISOString(),
      storedSignCount: Number(factor.sign_count),
    },
  });
  return { outcome: 'cleared', factor: cleared };
}
