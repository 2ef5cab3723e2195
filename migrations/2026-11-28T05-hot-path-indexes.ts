import { sql, type Kysely } from 'kysely';

/**
 * Indexes every sign-in paid for and no query reads any more (issue 11: each index is one more
 * insertion, WAL record and page to dirty per row):
 * - audit_events_sign_ins_idx: sign-ins per day come from the sign_ins_per_day rollup now;
 * - audit_events_occurred_at_idx: no query filters the audit log by time alone (the user's
 *   events use audit_events_subject_idx, checkpoints audit_events_txid_idx);
 * - sessions_factor_ids_idx (GIN, on every session insert and step-up): the sessions a revoked
 *   factor made are found among its owner's live sessions (sessions_user_id_idx).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists audit_events_sign_ins_idx`.execute(db);
  await sql`drop index if exists audit_events_occurred_at_idx`.execute(db);
  await sql`drop index if exists sessions_factor_ids_idx`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`create index sessions_factor_ids_idx on sessions using gin (factor_ids)`.execute(db);
  await sql`create index audit_events_occurred_at_idx on audit_events (occurred_at)`.execute(db);
  await sql`create index audit_events_sign_ins_idx on audit_events (occurred_at) where action = 'session.create'`.execute(db);
}
