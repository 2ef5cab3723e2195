import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { recordAudit } from '../src/audit/audit.ts';
import { verifyAuditTrail, writeCheckpoint, writeCheckpoints, type CheckpointSummary } from '../src/audit/checkpoints.ts';
import { createTestApp } from './helpers/app.ts';

/**
 * The threat: a backlog of audit rows (an upgrade gives every existing row the migration's one
 * transaction id; a restore; a checkpointer that could not run for a while) made one checkpoint
 * over all of them. At 10,000,000 rows that checkpoint ran the server out of heap (found by the
 * scale benchmark): the checkpointer took the server down. Checkpoints are now bounded, and a
 * backlog from a single transaction is spread over several of them that still verify, and still
 * name a tampered row.
 */
const t = await createTestApp();
const deps = { db: t.db, keyring: t.keyring };
const context = () => ({ now: t.clock.now(), clientAddress: null, userAgent: null, requestId: null });

describe('audit checkpoints over a backlog', () => {
  it('rows of one transaction are spread over bounded checkpoints that chain and verify; a tampered row is named in its own checkpoint', async () => {
    await recordAudit(t.db, context(), { action: 'before.backlog', outcome: 'success' });
    // Ten rows written by one transaction: one txid for all.
    await t.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 10; i++) await recordAudit(trx, context(), { action: `backlog.${i}`, outcome: 'success', details: { i } });
    });
    const txids = await sql<{ n: string }>`select count(distinct txid)::text as n from audit_events where action like 'backlog.%'`.execute(t.db);
    expect(txids.rows[0]!.n).toBe('1');
    const total = Number((await t.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);

    // A checkpoint covers only transactions that have ended: one still open anywhere in the cluster
    // (another test's, on PostgreSQL) holds the boundary back, so keep checkpointing until all are in.
    const written: CheckpointSummary[] = [];
    await expect
      .poll(async () => {
        written.push(...(await writeCheckpoints(deps, () => t.clock.now(), { maxRows: 3 })));
        return written.reduce((sum, checkpoint) => sum + checkpoint.rowCount, 0);
      }, { timeout: 30_000, interval: 200 })
      .toBe(total);
    expect(written.every((checkpoint) => checkpoint.rowCount >= 1 && checkpoint.rowCount <= 3)).toBe(true);
    expect(written.length).toBeGreaterThanOrEqual(4); // the ten rows of one transaction need four at least
    expect(await writeCheckpoint(deps, t.clock.now(), { maxRows: 3 })).toBeNull();

    // Every row in exactly one checkpoint.
    const covered = (await t.db.selectFrom('audit_checkpoints').select('row_digests').orderBy('seq').execute()).flatMap((c) => c.row_digests.split('\n').map((line) => Number(line.split(':')[0])));
    const all = (await t.db.selectFrom('audit_events').select('id').execute()).map((row) => Number(row.id));
    expect([...covered].sort((a, b) => a - b)).toEqual([...all].sort((a, b) => a - b));
    expect(await verifyAuditTrail(deps)).toMatchObject({ ok: true, rows: total, uncheckpointedRows: 0 });

    // New rows after the backlog go into the next checkpoint.
    await recordAudit(t.db, context(), { action: 'after.backlog', outcome: 'success' });
    expect(await verifyAuditTrail(deps)).toMatchObject({ ok: true, uncheckpointedRows: 1 });
    await expect.poll(async () => (await writeCheckpoints(deps, () => t.clock.now(), { maxRows: 3 })).map((checkpoint) => checkpoint.rowCount), { timeout: 30_000, interval: 200 }).toEqual([1]);

    // A superuser edits a row in the middle of the backlog: verification names it and its checkpoint.
    const victim = await t.db.selectFrom('audit_events').select('id').where('action', '=', 'backlog.5').executeTakeFirstOrThrow();
    const holder = (await t.db.selectFrom('audit_checkpoints').select(['seq', 'row_digests']).execute()).find((c) => c.row_digests.split('\n').some((line) => line.startsWith(`${victim.id}:`)))!;
    await t.db.transaction().execute(async (trx) => {
      await sql`set local session_replication_role = replica`.execute(trx);
      await trx.updateTable('audit_events').set({ outcome: 'failure' }).where('id', '=', victim.id).execute();
    });
    expect((await verifyAuditTrail(deps)).problem).toMatchObject({ kind: 'row_altered', seq: Number(holder.seq), rowId: Number(victim.id) });
  });
});
