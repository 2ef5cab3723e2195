import { sql, type Kysely } from 'kysely';

/**
 * The dashboard's users-by-factor-state pass (src/admin/stats.ts activeUserStatesSql) at 100,000
 * users: two partial indexes it reads instead of the tables.
 * - factors: the active passkeys and authenticator apps by user, read index-only (the other
 *   factor rows, passwords and backup-code sets, are skipped without being read);
 * - backup_codes: the unused codes by set, so "holds an unused code" is a probe per set (index-only)
 *   instead of a join over every code ever issued.
 * Neither covers a column the passkey sign-in updates (sign count, last used), so its factor
 * update stays a HOT update; a code's use leaves the second index (its predicate no longer holds).
 * Measured on the bench's data (100,000 users, 550,000 factor and code rows, loaded machine): the
 * pass went from ~500 ms to ~265 ms with the query's exists form.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index factors_active_second_factors_idx on factors (user_id, kind) where status = 'active' and kind in ('passkey', 'totp')`.execute(db);
  await sql`create index backup_codes_unused_idx on backup_codes (factor_id) where used_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index backup_codes_unused_idx`.execute(db);
  await sql`drop index factors_active_second_factors_idx`.execute(db);
}
