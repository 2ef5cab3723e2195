import type { Kysely, Transaction } from 'kysely';
import type { AdminActor } from '../admin/actor.ts';
import { recordAudit, type RequestContext } from '../audit/audit.ts';
import { addSeconds } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { Db } from '../db/database.ts';
import type { Database, EnrollmentLink, RecoveryRequest } from '../db/schema.ts';
import { createEnrollmentLink, enrollmentUrl } from '../enrollment/links.ts';
import { LatchError } from '../errors.ts';
import { revokeFactor, revokeRememberedDevices } from '../factors/revocation.ts';
import type { Logger } from '../logger.ts';
import { renderRecoveryLink } from '../notifications/messages.ts';
import { queueNotification } from '../notifications/outbox.ts';
import type { Mailer } from '../notifications/transport.ts';
import { messageSettings } from '../notifications/worker.ts';
import { checkAndHitRateLimit, type RateLimitRule } from '../rate-limits/rate-limits.ts';
import { revokeAllSessions } from '../sessions/sessions.ts';

/**
 * Account recovery, for a user who lost every way to sign in. The rules, all here:
 * - admin mode: admin A opens a request with a reason; a *different* admin B approves it (the
 *   flows in src/auth/admin/recovery.ts put both behind asAdmin: a fresh passkey proof); the
 *   database refuses opened_by = approved_by too. Self-service mode: the user asks (if enabled).
 * - then a wait (config.recovery); any sign-in by the user during it cancels the request
 *   (completeSignIn calls cancelOnSignIn when users.recovery_pending is set); the user or an
 *   admin may cancel too. Nothing shortens the wait: no route or flag skips it.
 * - when the wait is over, a single-use enrollment link (1 hour, only its hash stored) goes to
 *   the confirmed address (never through the outbox: no token in a row), or, without one, is
 *   shown once to the approving admin.
 * - registering a passkey on that link completes it: every other factor is revoked through
 *   revokeFactor and every session ends, in the transaction of the registration, with the audit rows.
 * No step lets an admin see or set a factor secret or sign in as the user: the link goes to the
 * user (or, without an address, through the approving admin to the user in person, after the wait).
 */

type Executor = Kysely<Database> | Transaction<Database>;

export const RECOVERY_LINK_TTL_SECONDS = 60 * 60;
export const OPEN_STATUSES = ['requested', 'waiting', 'ready'] as const;

/** Opening requests: per admin (a compromised admin cannot spray them) and per target user. */
export const RECOVERY_OPEN_RULES: { perActor: RateLimitRule; perUser: RateLimitRule } = {
  perActor: { limit: 10, windowSeconds: 24 * 60 * 60, lockoutSeconds: 24 * 60 * 60 },
  perUser: { limit: 3, windowSeconds: 24 * 60 * 60, lockoutSeconds: 24 * 60 * 60 },
};

export type CancelReason = 'by_admin' | 'by_user' | 'signed_in' | 'expired';

async function hitOpenLimit(trx: Executor, key: string, rule: RateLimitRule, now: Date): Promise<void> {
  const { allowed, state } = await checkAndHitRateLimit(trx, key, rule, now);
  if (!allowed) throw new LatchError('rate_limited', undefined, state.lockedUntil ? { retryAfterSeconds: Math.ceil((state.lockedUntil.getTime() - now.getTime()) / 1000) } : {});
}

async function lockActiveUser(trx: Executor, userId: string) {
  const user = await trx.selectFrom('users').selectAll().where('id', '=', userId).forUpdate().executeTakeFirst();
  if (!user) throw new LatchError('user_not_found');
  if (user.status !== 'active') throw new LatchError('recovery_not_allowed', 'This account is disabled: enable it first.', { reason: 'disabled' });
  return user;
}

async function lockRequest(trx: Executor, requestId: string): Promise<RecoveryRequest> {
  const request = await trx.selectFrom('recovery_requests').selectAll().where('id', '=', requestId).forUpdate().executeTakeFirst();
  if (!request) throw new LatchError('recovery_not_found');
  return request;
}

export function findOpenRecovery(db: Executor, userId: string): Promise<RecoveryRequest | undefined> {
  return db.selectFrom('recovery_requests').selectAll().where('user_id', '=', userId).where('status', 'in', OPEN_STATUSES).executeTakeFirst();
}

async function insertRequest(trx: Executor, values: { userId: string; mode: 'admin' | 'self'; status: 'requested' | 'waiting'; reason: string; openedBy: string | null; now: Date; waitEndsAt: Date | null }) {
  if (await findOpenRecovery(trx, values.userId)) throw new LatchError('recovery_already_open');
  const request = await trx
    .insertInto('recovery_requests')
    .values({
      user_id: values.userId,
      mode: values.mode,
      status: values.status,
      reason: values.reason,
      opened_by: values.openedBy,
      created_at: values.now,
      wait_ends_at: values.waitEndsAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await trx.updateTable('users').set({ recovery_pending: true }).where('id', '=', values.userId).execute();
  return request;
}

/** Admin A: opens a request (status `requested`); the user is told at once. */
export async function openRecovery(trx: Transaction<Database>, context: RequestContext, actor: AdminActor, input: { userId: string; reason: string }): Promise<RecoveryRequest> {
  if (actor.userId === input.userId) throw new LatchError('recovery_not_allowed', 'You cannot open a recovery for your own account.', { reason: 'self' });
  await hitOpenLimit(trx, `recovery-open:actor:${actor.userId ?? 'cli'}`, RECOVERY_OPEN_RULES.perActor, context.now);
  await hitOpenLimit(trx, `recovery-open:user:${input.userId}`, RECOVERY_OPEN_RULES.perUser, context.now);
  await lockActiveUser(trx, input.userId);
  const request = await insertRequest(trx, { userId: input.userId, mode: 'admin', status: 'requested', reason: input.reason, openedBy: actor.userId, now: context.now, waitEndsAt: null });
  await recordAudit(trx, context, {
    action: 'recovery.open',
    outcome: 'success',
    actorUserId: actor.userId,
    subjectUserId: input.userId,
    sessionId: actor.sessionId,
    details: { requestId: request.id, mode: 'admin', reason: input.reason, via: actor.via },
  });
  await queueNotification(trx, { userId: input.userId, kind: 'recovery_requested', payload: { requestId: request.id, mode: 'admin' }, now: context.now, from: context });
  return request;
}

/** Admin B (never A, never the user): approves; the wait starts now. */
export async function approveRecovery(
  trx: Transaction<Database>,
  context: RequestContext,
  actor: AdminActor,
  input: { requestId: string },
  config: Pick<Config, 'recovery'>,
): Promise<{ outcome: 'approved'; request: RecoveryRequest } | { outcome: 'refused_same_admin' }> {
  const request = await lockRequest(trx, input.requestId);
  if (request.status !== 'requested') throw new LatchError('recovery_state', undefined, { status: request.status });
  if (actor.userId === null || actor.userId === request.opened_by || actor.userId === request.user_id) {
    await recordAudit(trx, context, {
      action: 'recovery.approve',
      outcome: 'denied',
      actorUserId: actor.userId,
      subjectUserId: request.user_id,
      sessionId: actor.sessionId,
      details: { requestId: request.id, reason: actor.userId === request.user_id ? 'subject' : 'same_admin', via: actor.via },
    });
    // The denial's audit row must survive the refusal: the caller commits, then throws.
    return { outcome: 'refused_same_admin' };
  }
  const waitEndsAt = addSeconds(context.now, config.recovery.waitHours * 3600);
  const approved = await trx
    .updateTable('recovery_requests')
    .set({ status: 'waiting', approved_by: actor.userId, approved_at: context.now, wait_ends_at: waitEndsAt })
    .where('id', '=', request.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await recordAudit(trx, context, {
    action: 'recovery.approve',
    outcome: 'success',
    actorUserId: actor.userId,
    subjectUserId: request.user_id,
    sessionId: actor.sessionId,
    details: { requestId: request.id, openedBy: request.opened_by, waitEndsAt: waitEndsAt.toISOString(), via: actor.via },
  });
  await queueNotification(trx, { userId: request.user_id, kind: 'recovery_approved', payload: { requestId: request.id, waitEndsAt: waitEndsAt.toISOString() }, now: context.now, from: context });
  return { outcome: 'approved', request: approved };
}

/** Ends an open request: its link (if issued) stops working, the user is told. */
export async function cancelRecovery(
  trx: Executor,
  context: RequestContext,
  request: RecoveryRequest,
  by: { actorUserId: string | null; sessionId: string | null; reason: CancelReason },
): Promise<RecoveryRequest> {
  const cancelled = await trx
    .updateTable('recovery_requests')
    .set({ status: by.reason === 'expired' ? 'expired' : 'cancelled', cancelled_at: context.now, cancelled_by: by.actorUserId, cancel_reason: by.reason })
    .where('id', '=', request.id)
    .where('status', 'in', OPEN_STATUSES)
    .returningAll()
    .executeTakeFirst();
  if (!cancelled) throw new LatchError('recovery_state', undefined, { status: request.status });
  await trx.updateTable('users').set({ recovery_pending: false }).where('id', '=', request.user_id).execute();
  if (request.enrollment_link_id) {
    await trx.updateTable('enrollment_links').set({ used_at: context.now }).where('id', '=', request.enrollment_link_id).where('used_at', 'is', null).execute();
  }
  await recordAudit(trx, context, {
    action: by.reason === 'expired' ? 'recovery.expire' : 'recovery.cancel',
    outcome: 'success',
    actorUserId: by.actorUserId,
    subjectUserId: request.user_id,
    sessionId: by.sessionId,
    details: { requestId: request.id, reason: by.reason, status: request.status },
  });
  await queueNotification(trx, { userId: request.user_id, kind: 'recovery_cancelled', payload: { requestId: request.id, reason: by.reason }, now: context.now, from: context });
  return cancelled;
}

/**
 * The sign-in seam's hook (src/auth/complete-sign-in.ts): the user proved they can still sign in,
 * so the recovery is not needed — and if it was not theirs, it is stopped. Only called when the
 * user row says a request is open, so an ordinary sign-in pays nothing.
 */
export async function cancelOnSignIn(trx: Executor, context: RequestContext, userId: string): Promise<void> {
  const request = await trx.selectFrom('recovery_requests').selectAll().where('user_id', '=', userId).where('status', 'in', OPEN_STATUSES).forUpdate().executeTakeFirst();
  if (!request) {
    await trx.updateTable('users').set({ recovery_pending: false }).where('id', '=', userId).execute();
    return;
  }
  await cancelRecovery(trx, context, request, { actorUserId: userId, sessionId: null, reason: 'signed_in' });
}

async function issueLink(trx: Transaction<Database>, keyring: Keyring, context: RequestContext, request: RecoveryRequest, delivery: 'email' | 'admin', actorUserId: string | null) {
  const { token, link } = await createEnrollmentLink(trx, keyring, { userId: request.user_id, purpose: 'recovery', ttlSeconds: RECOVERY_LINK_TTL_SECONDS, createdBy: request.approved_by, now: context.now });
  await trx
    .updateTable('recovery_requests')
    .set({ status: 'ready', enrollment_link_id: link.id, link_delivery: delivery, link_issued_at: context.now })
    .where('id', '=', request.id)
    .execute();
  await recordAudit(trx, context, {
    action: 'recovery.link_issued',
    outcome: 'success',
    actorUserId,
    subjectUserId: request.user_id,
    details: { requestId: request.id, linkId: link.id, delivery, expiresAt: link.expires_at.toISOString() },
  });
  return { token, link };
}

/**
 * Admin B, after the wait, for a user without a confirmed address: the link, shown this once
 * (only its hash is stored; a second call is refused). A user with an address gets it by mail.
 */
export async function revealRecoveryLink(
  trx: Transaction<Database>,
  context: RequestContext,
  actor: AdminActor,
  input: { requestId: string },
  deps: { keyring: Keyring; config: Pick<Config, 'origins'> },
): Promise<{ url: string; expiresAt: Date }> {
  const request = await lockRequest(trx, input.requestId);
  if (request.status !== 'waiting') throw new LatchError('recovery_state', undefined, { status: request.status });
  if (actor.userId === null || actor.userId !== request.approved_by) throw new LatchError('forbidden', 'Only the administrator who approved this recovery receives its link.', { reason: 'not_approver' });
  if (request.wait_ends_at && request.wait_ends_at > context.now) throw new LatchError('recovery_waiting', undefined, { waitEndsAt: request.wait_ends_at.toISOString() });
  const user = await trx.selectFrom('users').select(['email', 'email_verified_at']).where('id', '=', request.user_id).executeTakeFirstOrThrow();
  if (user.email && user.email_verified_at) throw new LatchError('recovery_state', 'This user has a confirmed email address: the link goes there.', { status: request.status, reason: 'sent_by_email' });
  const { token, link } = await issueLink(trx, deps.keyring, context, request, 'admin', actor.userId);
  return { url: enrollmentUrl(deps.config.origins[0]!, token), expiresAt: link.expires_at };
}

export interface RecoveryTickDeps {
  db: Db;
  keyring: Keyring;
  config: Config;
  mailer: Mailer;
  logger: Logger;
}

const SYSTEM_CONTEXT = (now: Date): RequestContext => ({ now, clientAddress: null, userAgent: 'latch-recovery-worker', requestId: null });

/**
 * The worker's pass (and callable any time): requests whose wait is over and whose user has a
 * confirmed address get their link by mail; links that expired unused end their request.
 * The mail is sent after the link's transaction commits; if it fails, the link is withdrawn and
 * the request waits for the next pass.
 */
export async function advanceRecoveries(deps: RecoveryTickDeps, now: Date): Promise<{ sent: number; expired: number }> {
  const context = SYSTEM_CONTEXT(now);
  let sent = 0;
  let expired = 0;
  const due = await deps.db
    .selectFrom('recovery_requests')
    .innerJoin('users', 'users.id', 'recovery_requests.user_id')
    .select(['recovery_requests.id', 'users.email'])
    .where('recovery_requests.status', '=', 'waiting')
    .where('recovery_requests.wait_ends_at', '<=', now)
    .where('users.email', 'is not', null)
    .where('users.email_verified_at', 'is not', null)
    .limit(50)
    .execute();
  for (const candidate of due) {
    const issued = await deps.db.transaction().execute(async (trx) => {
      const request = await trx.selectFrom('recovery_requests').selectAll().where('id', '=', candidate.id).where('status', '=', 'waiting').forUpdate().skipLocked().executeTakeFirst();
      if (!request) return null;
      return { request, ...(await issueLink(trx, deps.keyring, context, request, 'email', null)) };
    });
    if (!issued) continue;
    const message = renderRecoveryLink({ url: enrollmentUrl(deps.config.origins[0]!, issued.token), expiresInMinutes: RECOVERY_LINK_TTL_SECONDS / 60, when: now }, messageSettings(deps.config));
    try {
      await deps.mailer.send({ ...message, to: candidate.email!, kind: 'recovery_link' });
      sent++;
    } catch {
      deps.logger.warn('recovery link could not be sent; it will be issued again', { requestId: issued.request.id });
      await deps.db.transaction().execute(async (trx) => {
        await trx.updateTable('enrollment_links').set({ used_at: now }).where('id', '=', issued.link.id).where('used_at', 'is', null).execute();
        await trx.updateTable('recovery_requests').set({ status: 'waiting', enrollment_link_id: null, link_delivery: null, link_issued_at: null }).where('id', '=', issued.request.id).where('status', '=', 'ready').execute();
        await recordAudit(trx, context, { action: 'recovery.link_failed', outcome: 'failure', subjectUserId: issued.request.user_id, details: { requestId: issued.request.id, linkId: issued.link.id } });
      });
    }
  }
  const stale = await deps.db
    .selectFrom('recovery_requests')
    .innerJoin('enrollment_links', 'enrollment_links.id', 'recovery_requests.enrollment_link_id')
    .select('recovery_requests.id')
    .where('recovery_requests.status', '=', 'ready')
    .where('enrollment_links.used_at', 'is', null)
    .where('enrollment_links.expires_at', '<=', now)
    .limit(50)
    .execute();
  for (const { id } of stale) {
    await deps.db.transaction().execute(async (trx) => {
      const request = await trx.selectFrom('recovery_requests').selectAll().where('id', '=', id).where('status', '=', 'ready').forUpdate().executeTakeFirst();
      if (request) {
        await cancelRecovery(trx, context, request, { actorUserId: null, sessionId: null, reason: 'expired' });
        expired++;
      }
    });
  }
  return { sent, expired };
}

/**
 * The recovery link was used and its passkey registered (src/auth/enroll/link.ts, same
 * transaction): every other factor goes through revokeFactor, every session and remembered
 * browser ends, the request is completed and audited. The new passkey's session is created after.
 */
export async function completeRecovery(
  trx: Transaction<Database>,
  context: RequestContext,
  /** `newFactorId`: the passkey just registered (kept); null when the new factors are added after (the fallback path). */
  input: { link: EnrollmentLink; newFactorId: string | null },
): Promise<void> {
  const request = await trx
    .selectFrom('recovery_requests')
    .selectAll()
    .where('enrollment_link_id', '=', input.link.id)
    .where('status', '=', 'ready')
    .forUpdate()
    .executeTakeFirst();
  if (!request || request.user_id !== input.link.user_id) throw new LatchError('enrollment_link_invalid');
  let oldQuery = trx.selectFrom('factors').select('id').where('user_id', '=', request.user_id).where('status', '=', 'active');
  if (input.newFactorId) oldQuery = oldQuery.where('id', '!=', input.newFactorId);
  const old = await oldQuery.execute();
  let revoked = 0;
  for (const factor of old) {
    const result = await revokeFactor(trx, context, { userId: request.user_id, factorId: factor.id, actorUserId: null, reason: 'recovery' });
    if (result.outcome === 'revoked') revoked++;
  }
  const endedSessions = await revokeAllSessions(trx, request.user_id, 'recovery', context.now);
  const forgotten = await revokeRememberedDevices(trx, context, { userId: request.user_id, deviceId: null });
  await trx.updateTable('recovery_requests').set({ status: 'completed', completed_at: context.now }).where('id', '=', request.id).execute();
  await trx.updateTable('users').set({ recovery_pending: false, updated_at: context.now }).where('id', '=', request.user_id).execute();
  await recordAudit(trx, context, {
    action: 'recovery.complete',
    outcome: 'success',
    actorUserId: request.user_id,
    subjectUserId: request.user_id,
    factorId: input.newFactorId,
    details: { requestId: request.id, mode: request.mode, revokedFactors: revoked, endedSessions: endedSessions.length, forgottenDevices: forgotten.deviceIds.length },
  });
  await queueNotification(trx, { userId: request.user_id, kind: 'recovery_completed', payload: { requestId: request.id }, now: context.now, from: context });
}

/** What an admin sees of a request (no link, no token: those are shown once, to the approver). */
export function presentRecovery(request: RecoveryRequest) {
  return {
    id: request.id,
    userId: request.user_id,
    mode: request.mode,
    status: request.status,
    reason: request.reason,
    openedBy: request.opened_by,
    approvedBy: request.approved_by,
    createdAt: request.created_at.toISOString(),
    approvedAt: request.approved_at?.toISOString() ?? null,
    waitEndsAt: request.wait_ends_at?.toISOString() ?? null,
    linkDelivery: request.link_delivery,
    linkIssuedAt: request.link_issued_at?.toISOString() ?? null,
    completedAt: request.completed_at?.toISOString() ?? null,
    cancelledAt: request.cancelled_at?.toISOString() ?? null,
    cancelReason: request.cancel_reason,
  };
}

/** What the user sees of their own open request. */
export function presentOwnRecovery(request: RecoveryRequest) {
  return { id: request.id, mode: request.mode, status: request.status, createdAt: request.created_at.toISOString(), waitEndsAt: request.wait_ends_at?.toISOString() ?? null };
}

export interface RecoveryWorker {
  stop(): Promise<void>;
}

/** The server's background pass, every minute (several instances: SKIP LOCKED keeps each request to one). */
export function startRecoveryWorker(deps: Omit<RecoveryTickDeps, 'mailer'> & { mailer: () => Mailer; clock: { now(): Date } }, options: { intervalMs?: number } = {}): RecoveryWorker {
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    if (stopped) return;
    running = advanceRecoveries({ ...deps, mailer: deps.mailer() }, deps.clock.now()).catch((error: Error) => deps.logger.warn('recovery pass failed', { errorName: error.name }));
  }, options.intervalMs ?? 60_000);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * Self-service (LATCH_SELF_RECOVERY=email): the user, signed out, names their account (username or
 * confirmed address). A request starts waiting at once (config.recovery.selfServiceWaitHours) and
 * the user is told; the link follows by mail after the wait, as for an approved request. The
 * caller answers the same whatever happened here, so the answer says nothing about the account;
 * `false` covers "no such account", "no confirmed address", "one is open already", "too many".
 */
export async function openSelfRecovery(trx: Transaction<Database>, context: RequestContext, input: { userId: string }, config: Pick<Config, 'recovery'>): Promise<boolean> {
  const user = await trx.selectFrom('users').selectAll().where('id', '=', input.userId).forUpdate().executeTakeFirst();
  if (!user || user.status !== 'active' || !user.email || !user.email_verified_at) return false;
  if (await findOpenRecovery(trx, user.id)) return false;
  const { allowed } = await checkAndHitRateLimit(trx, `recovery-open:user:${user.id}`, RECOVERY_OPEN_RULES.perUser, context.now);
  if (!allowed) return false;
  const waitEndsAt = addSeconds(context.now, config.recovery.selfServiceWaitHours * 3600);
  const request = await insertRequest(trx, { userId: user.id, mode: 'self', status: 'waiting', reason: 'self-service', openedBy: null, now: context.now, waitEndsAt });
  await recordAudit(trx, context, {
    action: 'recovery.open',
    outcome: 'success',
    actorUserId: null,
    subjectUserId: user.id,
    details: { requestId: request.id, mode: 'self', waitEndsAt: waitEndsAt.toISOString() },
  });
  await queueNotification(trx, { userId: user.id, kind: 'recovery_requested', payload: { requestId: request.id, mode: 'self', waitEndsAt: waitEndsAt.toISOString() }, now: context.now, from: context });
  return true;
}
