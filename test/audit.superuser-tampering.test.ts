import { sql, type Transaction } from 'kysely';
import { describe, expect, it } from 'vitest';
import { recordAudit } from '../src/audit/audit.ts';
import { verifyAuditTrail, writeCheckpoint } from '../src/audit/checkpoints.ts';
import type { CliContext } from '../src/cli/context.ts';
import { EXIT_FAILURE, EXIT_OK, runCli } from '../src/cli/program.ts';
import type { Database } from '../src/db/schema.ts';
import { createTestApp } from './helpers/app.ts';

/**
 * The threat: someone with superuser access to the database (the append-only trigger is no
 * obstacle to them) edits or deletes audit rows to hide what happened. The checkpoints must name
 * the first row that no longer matches.
 */
const t = await createTestApp();
const deps = { db: t.db, keyring: t.keyring, config: t.config };
const context = () => ({ now: t.clock.now(), clientAddress: '198.51.100.7', userAgent: 'test', requestId: null });

async function latch(...argv: string[]) {
  const lines: string[] = [];
  const cli: CliContext = { deps, clock: t.clock, out: (line) => lines.push(line) };
  let stderr = '';
  const code = await runCli(argv, { withContext: (work) => work(cli), out: (text) => lines.push(text), err: (text) => (stderr += text) });
  return { code, stdout: lines.join('\n'), stderr };
}

/** As a superuser would: with the append-only triggers switched off for this transaction only. */
async function asSuperuser(work: (trx: Transaction<Database>) => Promise<unknown>): Promise<void> {
  await t.db.transaction().execute(async (trx) => {
    await sql`set local session_replication_role = replica`.execute(trx);
    await work(trx);
  });
}

/**
 * Waits until every audit row written so far is below the checkpoint boundary (the oldest running
 * transaction in the cluster): on PostgreSQL another test's transaction, open for a moment, would
 * otherwise leave the newest rows for the next checkpoint and split what the test expects in one.
 */
async function auditRowsFinal(): Promise<void> {
  await expect
    .poll(async () => (await sql<{ waiting: boolean }>`select exists (select 1 from audit_events where txid >= pg_snapshot_xmin(pg_current_snapshot())) as waiting`.execute(t.db)).rows[0]!.waiting, { timeout: 30_000, interval: 100 })
    .toBe(false);
}

async function rowIdOf(action: string): Promise<number> {
  const row = await t.db.selectFrom('audit_events').select('id').where('action', '=', action).executeTakeFirstOrThrow();
  return Number(row.id);
}

describe('audit checkpoints: a chain of signed hashes over the log', () => {
  it('checkpoints the rows written since the previous checkpoint, each once, and verifies clean', async () => {
    for (let i = 0; i < 3; i++) await recordAudit(t.db, context(), { action: `first.${i}`, outcome: 'success', details: { i, nested: { b: 1, a: [1, 2] } } });
    await auditRowsFinal();
    const first = await latch('audit', 'checkpoint');
    expect(first.code).toBe(EXIT_OK);
    expect(first.stdout).toMatch(/^Checkpoint 1: \d+ rows/);
    expect((await latch('audit', 'checkpoint')).stdout).toMatch(/^Nothing to checkpoint/);
    for (let i = 0; i < 3; i++) {
      t.clock.advance(60);
      await recordAudit(t.db, context(), { action: `second.${i}`, outcome: 'success', subjectUserId: null, details: { i } });
    }
    await auditRowsFinal();
    const second = await writeCheckpoint(deps, t.clock.now());
    expect(second).toMatchObject({ seq: 2, rowCount: 3 });
    await recordAudit(t.db, context(), { action: 'tail.0', outcome: 'success' });

    const report = await verifyAuditTrail(deps);
    expect(report).toMatchObject({ ok: true, checkpoints: 2, uncheckpointedRows: 1, problem: null });
    const total = await t.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(report.rows).toBe(Number(total.n) - 1);
    const verified = await latch('audit', 'verify');
    expect(verified).toMatchObject({ code: EXIT_OK });
    expect(verified.stdout).toContain('OK: 2 checkpoints');
    expect(verified.stdout).toContain(`Head: ${second!.hash}`);
  });

  it('names an edited row (and verifies again once it is put back)', async () => {
    const id = await rowIdOf('second.1');
    await asSuperuser((trx) => trx.updateTable('audit_events').set({ outcome: 'failure' }).where('id', '=', String(id)).execute());
    const report = await verifyAuditTrail(deps);
    expect(report.problem).toMatchObject({ kind: 'row_altered', seq: 2, rowId: id });
    const cli = await latch('audit', 'verify');
    expect(cli.code).toBe(EXIT_FAILURE);
    expect(cli.stdout).toContain(`FAILED: audit row ${id} (checkpoint 2) was altered`);

    await asSuperuser((trx) => trx.updateTable('audit_events').set({ outcome: 'success' }).where('id', '=', String(id)).execute());
    expect((await verifyAuditTrail(deps)).ok).toBe(true);

    // A time moved by one microsecond is still a different row.
    await asSuperuser((trx) => sql`update audit_events set occurred_at = occurred_at + interval '1 microsecond' where id = ${id}`.execute(trx));
    expect((await verifyAuditTrail(deps)).problem).toMatchObject({ kind: 'row_altered', rowId: id });
    await asSuperuser((trx) => sql`update audit_events set occurred_at = occurred_at - interval '1 microsecond' where id = ${id}`.execute(trx));
    expect((await verifyAuditTrail(deps)).ok).toBe(true);
  }, 30_000);

  it('names an altered checkpoint and one re-sealed without the server key', async () => {
    await asSuperuser((trx) => trx.updateTable('audit_checkpoints').set({ row_count: 99 }).where('seq', '=', 1).execute());
    expect((await verifyAuditTrail(deps)).problem).toMatchObject({ kind: 'checkpoint_altered', seq: 1 });
    await asSuperuser((trx) => trx.updateTable('audit_checkpoints').set({ row_count: 3 }).where('seq', '=', 1).execute());
    const original = await t.db.selectFrom('audit_checkpoints').select('signature').where('seq', '=', 2).executeTakeFirstOrThrow();
    await asSuperuser((trx) => trx.updateTable('audit_checkpoints').set({ signature: 'f'.repeat(64) }).where('seq', '=', 2).execute());
    expect((await verifyAuditTrail(deps)).problem).toMatchObject({ kind: 'checkpoint_signature', seq: 2 });
    await asSuperuser((trx) => trx.updateTable('audit_checkpoints').set({ signature: original.signature }).where('seq', '=', 2).execute());
    // A different server key (another deployment's) does not verify this chain.
    const other = await createTestApp();
    expect((await verifyAuditTrail({ db: t.db, keyring: other.keyring })).problem).toMatchObject({ kind: 'checkpoint_signature', seq: 1 });
    expect((await verifyAuditTrail(deps)).ok).toBe(true);
  });

  it('names a deleted row, and a deleted checkpoint', async () => {
    const id = await rowIdOf('first.1');
    await asSuperuser((trx) => trx.deleteFrom('audit_events').where('id', '=', String(id)).execute());
    const report = await verifyAuditTrail(deps);
    expect(report.problem).toMatchObject({ kind: 'row_deleted', seq: 1, rowId: id });
    const cli = await latch('audit', 'verify');
    expect(cli.code).toBe(EXIT_FAILURE);
    expect(cli.stdout).toContain(`FAILED: audit row ${id} (checkpoint 1) was deleted`);

    await asSuperuser((trx) => trx.deleteFrom('audit_checkpoints').where('seq', '=', 1).execute());
    expect((await verifyAuditTrail(deps)).problem).toMatchObject({ kind: 'checkpoint_missing', seq: 1 });
  });
});

describe.runIf(t.database.kind === 'postgres')('audit checkpoints with concurrent writers (PostgreSQL)', () => {
  it('a row committed after a later one is in the next checkpoint, never lost; two instances never write one checkpoint twice', async () => {
    const fresh = await createTestApp();
    const freshDeps = { db: fresh.db, keyring: fresh.keyring };
    const other = fresh.database.connectAgain();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const insertedYet = new Promise<void>((resolve) => (inserted = resolve));
    // A transaction that writes its audit row (the smaller id) and commits late.
    const slow = other.transaction().execute(async (trx) => {
      await recordAudit(trx, context(), { action: 'late.commit', outcome: 'success' });
      inserted();
      await gate;
    });
    await insertedYet;
    await recordAudit(fresh.db, context(), { action: 'early.commit', outcome: 'success' });
    const lateId = Number((await other.selectFrom('audit_events').select('id').where('action', '=', 'early.commit').executeTakeFirstOrThrow()).id);

    const [a, b] = await Promise.all([writeCheckpoint(freshDeps, fresh.clock.now()), writeCheckpoint({ db: other, keyring: fresh.keyring }, fresh.clock.now())].map((p) => p.catch(() => null)));
    const written = [a, b].filter(Boolean);
    expect(written.length).toBeLessThanOrEqual(1);
    const covered = async () =>
      (await fresh.db.selectFrom('audit_checkpoints').select('row_digests').execute()).flatMap((c) => (c.row_digests ? c.row_digests.split('\n').map((line) => Number(line.split(':')[0])) : []));
    // Neither the in-flight row nor the one committed after it is covered yet.
    expect(await covered()).not.toContain(lateId);

    release();
    await slow;
    await writeCheckpoint(freshDeps, fresh.clock.now());
    const ids = await covered();
    const all = (await fresh.db.selectFrom('audit_events').select('id').execute()).map((row) => Number(row.id));
    expect([...ids].sort((x, y) => x - y)).toEqual([...all].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(ids.length);
    expect(await verifyAuditTrail(freshDeps)).toMatchObject({ ok: true, uncheckpointedRows: 0 });
  }, 30_000);
});
