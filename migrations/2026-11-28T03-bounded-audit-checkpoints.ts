import { sql, type Kysely } from 'kysely';

/**
 * Bounded audit checkpoints (src/audit/checkpoints.ts): a checkpoint ends at its last row's
 * (txid, id), so one transaction's rows (an upgrade gave every existing row the same txid) can be
 * spread over several checkpoints. The existing ones get 0 and 0: their half-open txid range.
 * A constant default adds the columns without rewriting the table or firing its append-only triggers.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table audit_checkpoints add column from_row_id bigint not null default 0, add column to_row_id bigint not null default 0`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table audit_checkpoints drop column from_row_id, drop column to_row_id`.execute(db);
}
