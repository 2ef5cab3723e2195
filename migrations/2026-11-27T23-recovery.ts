import { sql, type Kysely } from 'kysely';

/**
 * Account recovery requests (src/recovery/): opened by one admin and approved by another (or asked
 * for by the user, when self-service is on), then a wait, then a single-use enrollment link.
 * `users.recovery_pending` mirrors "this user has an open request", so the sign-in seam can cancel
 * it without a query on every sign-in (the flag is on the user row every sign-in reads anyway).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table users add column recovery_pending boolean not null default false`.execute(db);
  await sql`
    create table recovery_requests (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      mode text not null check (mode in ('admin', 'self')),
      status text not null check (status in ('requested', 'waiting', 'ready', 'completed', 'cancelled', 'expired')),
      reason text not null check (length(reason) between 1 and 500),
      opened_by uuid references users (id) on delete set null,
      approved_by uuid references users (id) on delete set null,
      created_at timestamptz not null,
      approved_at timestamptz,
      wait_ends_at timestamptz,
      enrollment_link_id uuid references enrollment_links (id) on delete set null,
      link_delivery text check (link_delivery in ('email', 'admin')),
      link_issued_at timestamptz,
      completed_at timestamptz,
      cancelled_at timestamptz,
      cancelled_by uuid,
      cancel_reason text,
      constraint recovery_two_admins check (approved_by is null or opened_by is null or approved_by <> opened_by)
    )`.execute(db);
  // At most one open request per user.
  await sql`create unique index recovery_requests_open_key on recovery_requests (user_id) where status in ('requested', 'waiting', 'ready')`.execute(db);
  await sql`create index recovery_requests_due_idx on recovery_requests (wait_ends_at) where status = 'waiting'`.execute(db);
  // Recovery without WebAuthn: a new password and authenticator app on the link, pending its first code.
  await sql`alter table ceremonies drop constraint ceremonies_kind_check`.execute(db);
  await sql`
    alter table ceremonies add constraint ceremonies_kind_check check (kind in ('passkey_signup', 'passkey_signin', 'passkey_register',
      'passkey_step_up', 'totp_signup', 'totp_setup', 'signin_ticket', 'email_confirm', 'recovery_fallback'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`delete from ceremonies where kind = 'recovery_fallback'`.execute(db);
  await sql`alter table ceremonies drop constraint ceremonies_kind_check`.execute(db);
  await sql`
    alter table ceremonies add constraint ceremonies_kind_check check (kind in ('passkey_signup', 'passkey_signin', 'passkey_register',
      'passkey_step_up', 'totp_signup', 'totp_setup', 'signin_ticket', 'email_confirm'))`.execute(db);
  await sql`drop table recovery_requests`.execute(db);
  await sql`alter table users drop column recovery_pending`.execute(db);
}
