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
  | 'second_factor_throttled';

/**
 * Queues a notification in the same transaction as the change it tells about; delivery reads the
 * outbox later, so a failed delivery never rolls back the change.
 */
export async function queueNotification(
  trx: Kysely<Database> | Transaction<Database>,
  notification: { userId: string; kind: NotificationKind; payload?: Record<string, unknown>; now: Date },
): Promise<void> {
  await notificationInsert(trx, notification).execute();
}

/** The INSERT queueNotification runs, for a caller that sends it with other writes (src/audit/deferred-writes.ts). */
export function notificationInsert(
  trx: Kysely<Database> | Transaction<Database>,
  notification: { userId: string; kind: NotificationKind; payload?: Record<string, unknown>; now: Date },
) {
  return trx.insertInto('notifications').values({
    user_id: notification.userId,
    kind: notification.kind,
    payload: JSON.stringify(notification.payload ?? {}),
    created_at: notification.now,
  });
}
