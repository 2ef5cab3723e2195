import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';

export type NotificationKind =
  | 'factor_added'
  | 'factor_removed'
  | 'factor_flagged'
  | 'backup_code_used'
  | 'backup_codes_regenerated'
  | 'password_changed'
  | 'new_sign_in'
  | 'second_factor_throttled'
  | 'email_changed'
  | 'totp_retired'
  | 'passkey_upgraded'
  | 'recovery_requested'
  | 'recovery_approved'
  | 'recovery_cancelled'
  | 'recovery_completed'
  | 'passkey_required'
  | 'account_disabled'
  | 'account_enabled';

export const notificationKinds: readonly NotificationKind[] = [
  'factor_added',
  'factor_removed',
  'factor_flagged',
  'backup_code_used',
  'backup_codes_regenerated',
  'password_changed',
  'new_sign_in',
  'second_factor_throttled',
  'email_changed',
  'totp_retired',
  'passkey_upgraded',
  'recovery_requested',
  'recovery_approved',
  'recovery_cancelled',
  'recovery_completed',
  'passkey_required',
  'account_disabled',
  'account_enabled',
];

/** Where the change came from: the message says which address and browser, so a stranger's change stands out. */
export interface NotificationOrigin {
  clientAddress: string | null;
  userAgent: string | null;
}

/** A notification to queue: about whom, what happened, and from where (never a secret). */
export interface QueuedNotification {
  userId: string;
  kind: NotificationKind;
  payload?: Record<string, unknown>;
  now: Date;
  from?: NotificationOrigin;
  /** Send to this address instead of the user's confirmed one (the old address after a change). */
  recipient?: string | null;
}

/**
 * Queues a notification in the same transaction as the change it tells about; delivery reads the
 * outbox later (src/notifications/worker.ts), so a failed delivery never rolls back the change.
 * The payload is shown in the message: never a secret, a code or a token.
 */
export async function queueNotification(trx: Kysely<Database> | Transaction<Database>, notification: QueuedNotification): Promise<void> {
  await notificationInsert(trx, notification).execute();
}

/** The INSERT queueNotification runs, for a caller that sends it with other writes (src/audit/deferred-writes.ts). */
export function notificationInsert(trx: Kysely<Database> | Transaction<Database>, notification: QueuedNotification) {
  return trx.insertInto('notifications').values({
    user_id: notification.userId,
    kind: notification.kind,
    payload: JSON.stringify(notification.payload ?? {}),
    created_at: notification.now,
    next_attempt_at: notification.now,
    client_address: notification.from?.clientAddress ?? null,
    user_agent: notification.from?.userAgent ?? null,
    recipient: notification.recipient ?? null,
  });
}
