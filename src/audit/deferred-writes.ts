import { sql, type OperationNodeSource, type Transaction } from 'kysely';
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
 */
export class DeferredWrites {
  private readonly writes: OperationNodeSource[] = [];
  private readonly audits: AuditEntry[] = [];

  constructor(private readonly context: RequestContext) {}

  add(query: OperationNodeSource & { execute(): Promise<unknown> }): void {
    this.writes.push(query);
  }

  audit(entry: AuditEntry): void {
    this.audits.push(entry);
  }

  get size(): number {
    return this.writes.length + (this.audits.length > 0 ? 1 : 0);
  }

  /** Sends everything added so far as one statement, inside `trx`. */
  async flush(trx: Transaction<Database>): Promise<void> {
    const writes = this.writes.splice(0);
    const audits = this.audits.splice(0);
    if (audits.length > 0) writes.push(auditInsert(trx, this.context, audits));
    if (writes.length === 0) return;
    if (writes.length === 1) {
      await (writes[0] as unknown as { execute(): Promise<unknown> }).execute();
      return;
    }
    // with w0 as (…), w1 as (…), … select 1: every data-modifying CTE runs, whether read or not.
    let query = trx as unknown as { with(name: string, expression: () => OperationNodeSource): typeof query; selectNoFrom(selection: unknown): { execute(): Promise<unknown> } };
    writes.forEach((write, i) => {
      query = query.with(`w${i}`, () => write);
    });
    await query.selectNoFrom(sql<number>`1`.as('done')).execute();
  }
}
