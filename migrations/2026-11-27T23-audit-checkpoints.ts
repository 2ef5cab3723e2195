import { sql, type Kysely } from 'kysely';

/**
 * A tamper-evident audit trail. Every audit row records the id of the transaction that wrote it
 * (`txid`, xid8: 64 bits, never wraps); a checkpoint covers exactly the rows whose txid lies in
 * [txid_from, txid_to), hashes them in id order, chains to the previous checkpoint's hash and is
 * signed with a key derived from the server's keyring (src/audit/checkpoints.ts says why a
 * transaction-id boundary and not an id or a timestamp). Checkpoints are append-only like the log.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // A stable (not volatile) default: existing rows all get this migration's transaction id, once,
  // without a rewrite; every later row the id of the transaction that inserts it.
  await sql`alter table audit_events add column txid xid8 not null default pg_current_xact_id()`.execute(db);
  await sql`create index audit_events_txid_idx on audit_events (txid, id)`.execute(db);

  await sql`
    create table audit_checkpoints (
      seq bigint primary key check (seq >= 1),
      created_at timestamptz not null,
      txid_from xid8 not null,
      txid_to xid8 not null,
      row_count integer not null check (row_count >= 0),
      first_row_id bigint,
      last_row_id bigint,
      row_digests text not null,
      rows_hash text not null,
      prev_hash text not null,
      hash text not null,
      key_id text not null,
      signature text not null
    )`.execute(db);
  await sql`
    create function audit_checkpoints_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_checkpoints is append-only: % refused', tg_op using errcode = 'insufficient_privilege';
    end
    $$`.execute(db);
  await sql`
    create trigger audit_checkpoints_no_update_delete before update or delete on audit_checkpoints
    for each row execute function audit_checkpoints_append_only()`.execute(db);
  await sql`
    create trigger audit_checkpoints_no_truncate before truncate on audit_checkpoints
    for each statement execute function audit_checkpoints_append_only()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table audit_checkpoints`.execute(db);
  await sql`drop function audit_checkpoints_append_only()`.execute(db);
  await sql`drop index audit_events_txid_idx`.execute(db);
  await sql`alter table audit_events drop column txid`.execute(db);
}
