import { sql, type Kysely } from 'kysely';

/**
 * Passkey rollout (issue 13):
 * - sessions remember what the rollout decided at sign-in, so reading a session (one statement)
 *   can show it again after a reload: `restricted_reason` (a restricted session may only enroll a
 *   passkey, read itself and sign out), `passkey_invited_at` (the sign-in showed an invitation),
 *   and `rollout_deadline` (the deadline the invitation counts down to, or since when a passkey
 *   is required).
 * - `user_rollout`: per user, when the invitation was last skipped (asked again after the group's
 *   `invite_again_after_days`) and how many times they signed in with a passkey (TOTP retirement).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table sessions add column restricted_reason text`.execute(db);
  await sql`alter table sessions add column passkey_invited_at timestamptz`.execute(db);
  await sql`alter table sessions add column rollout_deadline timestamptz`.execute(db);
  await sql`
    create table user_rollout (
      user_id uuid primary key references users (id) on delete cascade,
      invite_skipped_at timestamptz,
      passkey_sign_ins integer not null default 0 check (passkey_sign_ins >= 0)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table user_rollout`.execute(db);
  await sql`alter table sessions drop column rollout_deadline`.execute(db);
  await sql`alter table sessions drop column passkey_invited_at`.execute(db);
  await sql`alter table sessions drop column restricted_reason`.execute(db);
}
