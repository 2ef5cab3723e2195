import { sql, type Kysely } from 'kysely';

/**
 * Administration: when a session last proved a passkey with user verification (sign-in or
 * step-up). Admin actions measure their freshness from this, not from `last_verified_at`, which
 * any step-up (a phishable TOTP code too) moves forward. Existing sessions start without one: an
 * admin steps up once with a passkey.
 *
 * And a prefix index on usernames for the admin user search (`username like 'abc%'`).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table sessions add column passkey_verified_at timestamptz`.execute(db);
  await sql`create index users_username_prefix_idx on users (username text_pattern_ops)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index users_username_prefix_idx`.execute(db);
  await sql`alter table sessions drop column passkey_verified_at`.execute(db);
}
