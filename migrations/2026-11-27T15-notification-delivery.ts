import { sql, type Kysely } from 'kysely';

/**
 * Delivering the notifications outbox: where each notification came from (address and browser,
 * shown in the message), when it may next be tried (a lease while a worker sends it, then the
 * backoff after a failure), the last error (never a secret), and how it ended (sent, given up,
 * or skipped because the user has no confirmed address). `recipient` sends one row to an
 * address other than the user's current one: the old address when it is changed.
 * Ceremonies gain `email_confirm`: the keyed hash of a code sent to an address being confirmed.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table notifications add column client_address text`.execute(db);
  await sql`alter table notifications add column user_agent text`.execute(db);
  await sql`alter table notifications add column recipient text check (recipient is null or length(recipient) between 3 and 254)`.execute(db);
  await sql`alter table notifications add column next_attempt_at timestamptz`.execute(db);
  await sql`alter table notifications add column last_error text check (last_error is null or length(last_error) <= 500)`.execute(db);
  await sql`alter table notifications add column failed_at timestamptz`.execute(db);
  await sql`alter table notifications add column skipped_at timestamptz`.execute(db);
  await sql`alter table notifications add column skipped_reason text`.execute(db);
  await sql`update notifications set next_attempt_at = created_at where next_attempt_at is null`.execute(db);
  await sql`drop index notifications_unsent_idx`.execute(db);
  await sql`
    create index notifications_due_idx on notifications (next_attempt_at)
    where sent_at is null and failed_at is null and skipped_at is null`.execute(db);

  await sql`alter table ceremonies drop constraint ceremonies_kind_check`.execute(db);
  await sql`
    alter table ceremonies add constraint ceremonies_kind_check check (kind in ('passkey_signup', 'passkey_signin', 'passkey_register',
      'passkey_step_up', 'totp_signup', 'totp_setup', 'signin_ticket', 'email_confirm'))`.execute(db);
  await sql`create index ceremonies_user_kind_idx on ceremonies (user_id, kind) where consumed_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index ceremonies_user_kind_idx`.execute(db);
  await sql`delete from ceremonies where kind = 'email_confirm'`.execute(db);
  await sql`alter table ceremonies drop constraint ceremonies_kind_check`.execute(db);
  await sql`
    alter table ceremonies add constraint ceremonies_kind_check check (kind in ('passkey_signup', 'passkey_signin', 'passkey_register',
      'passkey_step_up', 'totp_signup', 'totp_setup', 'signin_ticket'))`.execute(db);
  await sql`drop index notifications_due_idx`.execute(db);
  await sql`create index notifications_unsent_idx on notifications (created_at) where sent_at is null`.execute(db);
  for (const column of ['skipped_reason', 'skipped_at', 'failed_at', 'last_error', 'next_attempt_at', 'recipient', 'user_agent', 'client_address']) {
    await sql`alter table notifications drop column ${sql.ref(column)}`.execute(db);
  }
}
