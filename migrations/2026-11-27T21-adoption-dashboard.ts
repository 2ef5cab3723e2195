import { sql, type Kysely } from 'kysely';

/**
 * The adoption dashboard at size (100,000 users, 10,000,000 audit rows): two partial indexes over
 * the sign-in rows of the audit log only (action 'session.create'), so the other audit rows cost
 * nothing more to write and a sign-in adds index entries but no statement (the passkey hot path
 * keeps its single deferred write).
 * - by time: sign-ins by method per day for the last 30 days read the window's sign-ins only;
 * - by user and time: each user's last sign-in (TOTP-only lists, the CSV export) is one probe.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index audit_events_sign_ins_idx on audit_events (occurred_at) where action = 'session.create'`.execute(db);
  await sql`create index audit_events_user_sign_ins_idx on audit_events (subject_user_id, occurred_at) where action = 'session.create'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index audit_events_user_sign_ins_idx`.execute(db);
  await sql`drop index audit_events_sign_ins_idx`.execute(db);
}
