import { sql, type Kysely, type OperationNodeSource, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import { auditInsert, type AuditEntry, type RequestContext } from './audit.ts';

/**
 * The writes of one request that nothing in it reads back before the commit — the passkey's new
 * counter, the session row, the notification, the audit rows — sent to the database as ONE
 * statement (data-modifying CTEs) at the end of the transaction, instead of one round trip each.
 * They commit together with the rest of the transaction or not at all, as before.
 *
 * The audit rows go into one multi-row INSERT, in the order they were added (their ids ascend in
 * that order). A deferred write must not depend on another deferred write's effect (all of them
 * see the snapshot the statement started with), so only independent inserts and updates of
 * different rows belong here; foreign keys between them are checked at the end of the statement.
 *
 * Outside a transaction the one statement is the transaction: `require` names a write that must
 * change a row (an UPDATE guarded by what the request read, RETURNING it); when it changes none,
 * the statement fails with `WriteGuardFailed` and none of the writes happen.
 */
export class DeferredWrites {
  private readonly writes: OperationNodeSource[] = [];
  private readonly audits: AuditEntry[] = [];
  private guard: { write: OperationNodeSource; reason: string } | null = null;

  constructor(private readonly context: RequestContext) {}

  add(query: OperationNodeSource & { execute(): Promise<unknown> }): void {
    this.writes.push(query);
  }

  audit(entry: AuditEntry): void {
    this.audits.push(entry);
  }

  /** A write that must change a row (it RETURNs what it changed), or nothing is written: see the class. */
  require(write: OperationNodeSource & { execute(): Promise<unknown> }, reason: string): void {
    if (this.guard) throw new Error('DeferredWrites: one guard per statement');
    this.guard = { write, reason };
  }

  get size(): number {
    return this.writes.length + (this.audits.length > 0 ? 1 : 0) + (this.guard ? 1 : 0);
  }

  /** Sends everything added so far as one statement, inside `db` (a transaction, or on its own). */
  async flush(db: Kysely<Database> | Transaction<Database>): Promise<void> {
    const writes = this.writes.splice(0);
    const audits = this.audits.splice(0);
    const guard = this.guard;
    this.guard = null;
    if (audits.length > 0) writes.push(auditInsert(db, this.context, audits));
    if (guard) writes.unshift(guard.write);
    if (writes.length === 0) return;
    if (writes.length === 1 && !guard) {
      await (writes[0] as unknown as { execute(): Promise<unknown> }).execute();
      return;
    }
    // with w0 as (…), w1 as (…), … select 1: every data-modifying CTE runs, whether read or not.
    let query = db as unknown as { with(name: string, expression: () => OperationNodeSource): typeof query; selectNoFrom(selection: unknown): { execute(): Promise<unknown> } };
    writes.forEach((write, i) => {
      query = query.with(`w${i}`, () => write);
    });
    const done = guard ? sql<number>`latch_require(exists (select 1 from w0), ${guard.reason})` : sql<number>`1`;
    try {
      await query.selectNoFrom(done.as('done')).execute();
    } catch (error) {
      if (guard && (error as { code?: unknown }).code === GUARD_FAILED) throw new WriteGuardFailed(guard.reason);
      throw error;
    }
  }
}

/** The SQLSTATE latch_require raises (migrations/2026-11-28T04-guarded-writes.ts). */
const GUARD_FAILED = 'LA001';

/** The guarded row changed between the request's read and its writes: nothing was written. */
export class WriteGuardFailed extends Error {
  constructor(readonly reason: string) {
    super(`write guard failed: ${reason}`);
    this.name = 'WriteGuardFailed';
  }
}
