import { sql } from 'kysely';
import { recordAudit } from '../audit/audit.ts';
import { addSeconds, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Notification } from '../db/schema.ts';
import type { Logger } from '../logger.ts';
import { renderNotification, type MessageSettings } from './messages.ts';
import { MailError, mailerFor, type Mailer } from './transport.ts';

export interface DeliveryDeps {
  db: Db;
  config: Config;
  clock: Clock;
  logger: Logger;
  /** By default the one the configuration asks for (SMTP or the development mailbox). */
  mailer?: Mailer;
}

export interface DeliveryRules {
  /** Rows one pass claims. */
  batchSize: number;
  /**
   * How long a claimed row is left alone by other workers: longer than a send can take (the SMTP
   * timeouts are 30 + 60 seconds), so in the normal path no two workers send one row. A worker that
   * dies mid-send leaves the row to be taken again after it: delivery is at-least-once.
   */
  leaseSeconds: number;
  /** Attempts before giving up (failed_at set, kept for the record). */
  maxAttempts: number;
  /** The wait after the first failure; it doubles with each failure, up to maxBackoffSeconds. */
  baseBackoffSeconds: number;
  maxBackoffSeconds: number;
}

export const NOTIFICATION_LEASE_SECONDS = 5 * 60;

export const defaultDeliveryRules: DeliveryRules = {
  batchSize: 20,
  leaseSeconds: NOTIFICATION_LEASE_SECONDS,
  maxAttempts: 8,
  baseBackoffSeconds: 60,
  maxBackoffSeconds: 6 * 60 * 60,
};

export interface DeliveryReport {
  sent: number;
  retried: number;
  gaveUp: number;
  skipped: number;
}

export function messageSettings(config: Config): MessageSettings {
  return { rpName: config.rpName, accountUrl: `${config.origins[0]}/account` };
}

/** A claimed notification and where it goes (the recipient it names, or the user's confirmed address). */
export type ClaimedNotification = Notification & { to: string | null };

/**
 * Claims due rows with one UPDATE over a `FOR UPDATE SKIP LOCKED` select: concurrent workers on
 * one PostgreSQL each get different rows, and a claimed row's lease (next_attempt_at pushed ahead)
 * keeps it theirs after the statement commits, so no transaction is held open over SMTP.
 *
 * Rows with nowhere to go (no recipient, and the user has no confirmed address: an unconfirmed
 * one may be a stranger's) are marked skipped by that same UPDATE and not returned. Most sign-ins'
 * `new_sign_in` rows are such rows; settling them one by one cost two statements each.
 */
export async function claimDueNotifications(
  db: Db,
  now: Date,
  rules: Pick<DeliveryRules, 'batchSize' | 'leaseSeconds'>,
): Promise<{ claimed: ClaimedNotification[]; skipped: number }> {
  const address = sql<string | null>`coalesce(notifications.recipient,
    (select users.email from users where users.id = notifications.user_id and users.email_verified_at is not null))`;
  const rows = await db
    .updateTable('notifications')
    .set((eb) => ({
      attempts: eb('attempts', '+', 1),
      next_attempt_at: addSeconds(now, rules.leaseSeconds),
      skipped_at: sql<Date | null>`case when ${address} is null then ${now}::timestamptz end`,
      skipped_reason: sql<string | null>`case when ${address} is null then 'no_confirmed_address' end`,
    }))
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('notifications')
        .select('id')
        .where('sent_at', 'is', null)
        .where('failed_at', 'is', null)
        .where('skipped_at', 'is', null)
        .where('next_attempt_at', '<=', now)
        .orderBy('next_attempt_at')
        .limit(rules.batchSize)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .returning(address.as('to'))
    .execute();
  const claimed = rows.filter((row) => row.skipped_at === null);
  return { claimed, skipped: rows.length - claimed.length };
}

/** One pass: claim what is due, send each, record how it went. */
export async function deliverDueNotifications(deps: DeliveryDeps, rules: DeliveryRules = defaultDeliveryRules): Promise<DeliveryReport> {
  const mailer = deps.mailer ?? mailerFor(deps.config, deps.logger);
  const { claimed, skipped } = await claimDueNotifications(deps.db, deps.clock.now(), rules);
  const report: DeliveryReport = { sent: 0, retried: 0, gaveUp: 0, skipped };
  for (const row of claimed) report[await deliverOne(deps, mailer, row, rules)] += 1;
  return report;
}

async function deliverOne(deps: DeliveryDeps, mailer: Mailer, row: ClaimedNotification, rules: DeliveryRules): Promise<keyof DeliveryReport> {
  const to = row.to!; // rows without an address were skipped by the claim
  try {
    await mailer.send({ ...renderNotification(row, messageSettings(deps.config)), to, kind: row.kind });
  } catch (error) {
    const reason = error instanceof MailError ? error.reason : 'mail_failed';
    const now = deps.clock.now();
    if (row.attempts >= rules.maxAttempts) {
      // Giving up is a security-relevant fact (the user was not told something): audited with it.
      await deps.db.transaction().execute(async (trx) => {
        await trx.updateTable('notifications').set({ failed_at: now, last_error: reason }).where('id', '=', row.id).execute();
        await recordAudit(trx, { now, clientAddress: null, userAgent: 'latch-notification-worker', requestId: null }, {
          action: 'notification.given_up',
          outcome: 'failure',
          subjectUserId: row.user_id,
          details: { notificationId: row.id, kind: row.kind, attempts: row.attempts, reason },
        });
      });
      deps.logger.warn('notification given up', { notificationId: row.id, kind: row.kind, attempts: row.attempts, reason });
      return 'gaveUp';
    }
    const wait = Math.min(rules.baseBackoffSeconds * 2 ** (row.attempts - 1), rules.maxBackoffSeconds);
    await deps.db
      .updateTable('notifications')
      .set({ next_attempt_at: addSeconds(now, wait), last_error: reason })
      .where('id', '=', row.id)
      .execute();
    deps.logger.info('notification delivery failed; will retry', { notificationId: row.id, kind: row.kind, attempts: row.attempts, retryInSeconds: wait, reason });
    return 'retried';
  }
  await deps.db.updateTable('notifications').set({ sent_at: deps.clock.now(), last_error: null }).where('id', '=', row.id).execute();
  return 'sent';
}

export interface NotificationWorker {
  stop(): Promise<void>;
}

/**
 * The worker the server runs: a pass every `intervalMs`, and more passes at once while a batch
 * comes back full. `stop()` waits for the pass in flight.
 */
export function startNotificationWorker(deps: DeliveryDeps, options: { intervalMs?: number; rules?: DeliveryRules } = {}): NotificationWorker {
  const intervalMs = options.intervalMs ?? 5_000;
  const rules = options.rules ?? defaultDeliveryRules;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;

  const pass = async () => {
    try {
      for (;;) {
        const report = await deliverDueNotifications(deps, rules);
        const handled = report.sent + report.retried + report.gaveUp + report.skipped;
        if (stopped || handled < rules.batchSize) break;
      }
    } catch (error) {
      deps.logger.warn('notification delivery pass failed', { errorName: (error as Error).name });
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = pass().then(schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

/** For the development mailbox page and tests: the outbox's state, without payloads. */
export async function outboxCounts(db: Db): Promise<Record<'pending' | 'sent' | 'failed' | 'skipped', number>> {
  const row = await db
    .selectFrom('notifications')
    .select([
      sql<number>`count(*) filter (where sent_at is null and failed_at is null and skipped_at is null)::int`.as('pending'),
      sql<number>`count(*) filter (where sent_at is not null)::int`.as('sent'),
      sql<number>`count(*) filter (where failed_at is not null)::int`.as('failed'),
      sql<number>`count(*) filter (where skipped_at is not null)::int`.as('skipped'),
    ])
    .executeTakeFirstOrThrow();
  return { pending: Number(row.pending), sent: Number(row.sent), failed: Number(row.failed), skipped: Number(row.skipped) };
}
