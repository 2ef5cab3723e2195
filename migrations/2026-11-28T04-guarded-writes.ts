import { sql, type Kysely } from 'kysely';

/**
 * `latch_require(ok, reason)`: 1 when ok, otherwise an error (SQLSTATE LA001, the reason as its
 * message) that aborts the statement calling it. A request's writes sent as one statement
 * (src/audit/deferred-writes.ts) use it as their guard: when the row they depend on changed since
 * it was read (a passkey revoked or used meanwhile), none of them is written. A function, because
 * PostgreSQL folds a constant error such as 1/0 while planning, whatever branch holds it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function latch_require(ok boolean, reason text) returns integer
    language plpgsql as $$
    begin
      if ok is not true then
        raise exception using errcode = 'LA001', message = reason;
      end if;
      return 1;
    end
    $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function latch_require(boolean, text)`.execute(db);
}
