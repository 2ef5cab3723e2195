import type { Transaction } from 'kysely';
import { recordAudit, type RequestContext } from '../audit/audit.ts';
import type { Database, Factor } from '../db/schema.ts';
import { LatchError } from '../errors.ts';
import { queueNotification } from '../notifications/outbox.ts';
import { revokeSessionsEstablishedWith } from '../sessions/sessions.ts';
import { canSignIn } from './factors.ts';

export interface RevokeFactorInput {
  userId: string;
  factorId: string;
  /** Who asks: the owner (subject to the last-factor rule) or an admin, or null for the system. */
  actorUserId: string | null;
  actorSessionId?: string | null;
  reason: string;
}

/**
 * The one way a factor ends. Inside the caller's transaction: marks it revoked, ends the sessions
 * it established, forgets remembered browsers when the TOTP they stood in for goes, records the
 * audit row and queues the notification. The owner may not remove the last way they can sign in.
 */
export type RevokeFactorResult =
  | { outcome: 'revoked'; factor: Factor; endedSessionIds: string[] }
  /** Refused, and the refusal audited: the caller commits the transaction so the audit row stays. */
  | { outcome: 'refused_last_factor' };

export async function revokeFactor(trx: Transaction<Database>, context: RequestContext, input: RevokeFactorInput): Promise<RevokeFactorResult> {
  const factors = await trx
    .selectFrom('factors')
    .selectAll()
    .where('user_id', '=', input.userId)
    .where('status', '=', 'active')
    .forUpdate()
    .execute();
  const factor = factors.find((candidate) => candidate.id === input.factorId);
  if (!factor) throw new LatchError('factor_not_found');

  const remaining = factors.filter((candidate) => candidate.id !== factor.id);
  const byOwner = input.actorUserId === input.userId;
  if (byOwner && canSignIn(factors) && !canSignIn(remaining)) {
    await recordAudit(trx, context, {
      action: 'factor.revoke',
      outcome: 'denied',
      actorUserId: input.actorUserId,
      subjectUserId: input.userId,
      factorId: factor.id,
      sessionId: input.actorSessionId ?? null,
      details: { kind: factor.kind, reason: 'last_factor' },
    });
    return { outcome: 'refused_last_factor' };
  }

  const revoked = await trx
    .updateTable('factors')
    .set({ status: 'revoked', revoked_at: context.now, revoked_by: input.actorUserId, revoked_reason: input.reason })
    .where('id', '=', factor.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const endedSessionIds = await revokeSessionsEstablishedWith(trx, factor.id, 'factor_revoked', context.now);
  if (factor.kind === 'totp') {
    await trx
      .updateTable('remembered_devices')
      .set({ revoked_at: context.now })
      .where('user_id', '=', input.userId)
      .where('revoked_at', 'is', null)
      .execute();
  }
  await recordAudit(trx, context, {
    action: 'factor.revoke',
    outcome: 'success',
    actorUserId: input.actorUserId,
    subjectUserId: input.userId,
    factorId: factor.id,
    sessionId: input.actorSessionId ?? null,
    details: { kind: factor.kind, label: factor.label, reason: input.reason, endedSessions: endedSessionIds.length },
  });
  await queueNotification(trx, {
    userId: input.userId,
    kind: 'factor_removed',
    payload: { factorId: factor.id, kind: factor.kind, label: factor.label, byAdmin: !byOwner && input.actorUserId !== null },
    now: context.now,
  });
  return { outcome: 'revoked', factor: revoked, endedSessionIds };
}

