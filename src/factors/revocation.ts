import type { Transaction } from 'kysely';
import { recordAudit, type RequestContext } from '../audit/audit.ts';
import type { Database, Factor } from '../db/schema.ts';
import { LatchError } from '../errors.ts';
import { queueNotification, type NotificationKind } from '../notifications/outbox.ts';
import { revokeSessionsEstablishedWith, revokeSessionsMadeThroughDevices, type SessionRevocationReason } from '../sessions/sessions.ts';
import { canSignIn } from './factors.ts';
import { forgetRememberedDevices } from './remembered-devices.ts';

export interface RevokeFactorInput {
  userId: string;
  factorId: string;
  /** Who asks: the owner (subject to the last-factor rule) or an admin, or null for the system. */
  actorUserId: string | null;
  actorSessionId?: string | null;
  reason: string;
  /**
   * The factor is being replaced by a new one of its kind in the same transaction (backup codes
   * regenerated): the last-factor rule does not apply, the caller tells the user about the new
   * one, and `keepSessionId` (the session asking for the replacement) survives.
   */
  replacing?: { keepSessionId: string | null };
  /** Tell the user with this kind instead of `factor_removed` (a TOTP retired by the rollout: `totp_retired`), with these payload fields added. */
  notifyAs?: { kind: NotificationKind; payload?: Record<string, unknown> };
}

/**
 * The one way a factor ends. Inside the caller's transaction: marks it revoked, ends the sessions
 * it established or stepped up, forgets remembered browsers (and ends their sessions) when the
 * TOTP they stood in for goes, records the audit row and queues the notification. The owner may
 * not remove the last way they can sign in.
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
  if (!input.replacing && byOwner && canSignIn(factors) && !canSignIn(remaining)) {
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
  const sessionReason: SessionRevocationReason = !input.replacing ? 'factor_revoked' : factor.kind === 'backup_codes' ? 'backup_codes_regenerated' : 'factor_replaced';
  const endedSessionIds = await revokeSessionsEstablishedWith(trx, factor, sessionReason, context.now, input.replacing?.keepSessionId ?? null);
  let forgottenDevices: string[] = [];
  if (factor.kind === 'totp') {
    // A remembered browser stood in for this authenticator: it and what it signed in go with it.
    const forgotten = await revokeRememberedDevices(trx, context, { userId: input.userId, deviceId: null });
    forgottenDevices = forgotten.deviceIds;
    endedSessionIds.push(...forgotten.endedSessionIds.filter((id) => !endedSessionIds.includes(id)));
  }
  await recordAudit(trx, context, {
    action: 'factor.revoke',
    outcome: 'success',
    actorUserId: input.actorUserId,
    subjectUserId: input.userId,
    factorId: factor.id,
    sessionId: input.actorSessionId ?? null,
    details: { kind: factor.kind, label: factor.label, reason: input.reason, endedSessions: endedSessionIds.length, forgottenDevices: forgottenDevices.length },
  });
  if (!input.replacing) {
    await queueNotification(trx, {
      userId: input.userId,
      kind: input.notifyAs?.kind ?? 'factor_removed',
      payload: { factorId: factor.id, kind: factor.kind, label: factor.label, byAdmin: !byOwner && input.actorUserId !== null, ...input.notifyAs?.payload },
      now: context.now,
      from: context,
    });
  }
  return { outcome: 'revoked', factor: revoked, endedSessionIds };
}

/**
 * The one way remembered browsers end (one, or all of the user's when `deviceId` is null): the
 * devices are forgotten and the sessions they signed in end with them, in the caller's
 * transaction. The caller's audit row records the counts.
 */
export async function revokeRememberedDevices(
  trx: Transaction<Database>,
  context: Pick<RequestContext, 'now'>,
  /** `keepSessionId`: the session asking, when its owner forgets browsers from it, stays. */
  input: { userId: string; deviceId: string | null; keepSessionId?: string | null },
): Promise<{ deviceIds: string[]; endedSessionIds: string[] }> {
  const deviceIds = await forgetRememberedDevices(trx, input.userId, input.deviceId, context.now);
  const endedSessionIds = await revokeSessionsMadeThroughDevices(trx, deviceIds, 'device_forgotten', context.now, input.keepSessionId ?? null);
  return { deviceIds, endedSessionIds };
}
