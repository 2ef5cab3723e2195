import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { sql } from 'kysely';
import type { Clock } from '../clock.ts';
import { constantTimeEqual, type Keyring } from '../crypto/keyring.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';

/**
 * Tamper-evident audit trail: checkpoints over `audit_events`.
 *
 * Which rows a checkpoint covers — the hard part. Ids (an identity sequence) and timestamps are
 * handed out when a row is INSERTed, not when it commits: a transaction that inserts id 100 and
 * commits after the one that inserted id 101 would, with an "id ≤ max(id)" boundary, land behind a
 * checkpoint that already covered 101 and belong to none (and a timestamp margin only makes that
 * unlikely, not impossible). So each row carries the id of the transaction that wrote it (`txid`,
 * xid8, set by a column default — no extra statement, no lock on the write path), and a checkpoint
 * takes as its upper boundary the `xmin` of a fresh snapshot: every transaction with a smaller id
 * has ended (committed or rolled back), every transaction still running or yet to start has an id
 * ≥ it. The rows with `txid_from ≤ txid < txid_to` are therefore final when the checkpoint reads
 * them, and a row committed late is in the next checkpoint's range — each row in exactly one
 * checkpoint, without serialising writers. The price: a long transaction holds the boundary back
 * (its rows and everything after wait for the next checkpoint after it ends).
 *
 * Within a checkpoint the rows are hashed in id order over a canonical serialisation (every
 * column, the timestamp in microseconds and `details` as PostgreSQL's own jsonb text, which is
 * canonical); the per-row digests are kept so that verification can name the first row that no
 * longer matches. The checkpoint's hash covers its fields and the previous checkpoint's hash (a
 * chain), and is signed with HMAC-SHA256 under a key derived from the keyring's HMAC key (HKDF,
 * its own purpose), so someone who can write the database but not read the server's keys cannot
 * re-seal an edited log. What it cannot catch: rows written after the newest checkpoint (at most a
 * minute), and the newest checkpoints removed together with their rows — compare `head` from
 * `latch audit verify` with a copy kept elsewhere for that. A restore into a cluster whose
 * transaction counter is behind the stored txids would leave new rows outside every range until the
 * counter passes the last boundary; verify reports them as not yet checkpointed.
 */

/*
 * Bounded checkpoints. Rows are taken in (txid, id) order, at most MAX_ROWS_PER_CHECKPOINT at a
 * time, so a backlog (an upgrade that gave millions of existing rows one migration txid, a restore,
 * a long outage of the checkpointer) becomes many checkpoints instead of one that holds every row in
 * memory (10,000,000 rows ended the server's heap). A checkpoint covers the rows with
 *   (txid_from, from_row_id) < (txid, id) <= (txid_to, to_row_id),
 * its end being its last row's position; the next one starts there. Checkpoints written before
 * this have from_row_id = to_row_id = 0, which reads as the old half-open range
 * txid_from <= txid < txid_to (ids start at 1), so the chain verifies across the change.
 */
export const MAX_ROWS_PER_CHECKPOINT = 20_000;

export const GENESIS_HASH = '0'.repeat(64);
const ADVISORY_LOCK_KEY = 7_154_020_301; // any constant of our own: one checkpoint writer at a time
export const CHECKPOINT_INTERVAL_MS = 60_000;

export interface CheckpointKey {
  id: string;
  key: Buffer;
}

/** The checkpoint signing key: derived from the keyring, never stored; its id is a fingerprint. */
export function checkpointKey(keyring: Keyring): CheckpointKey {
  const key = Buffer.from(hkdfSync('sha256', keyring.hmacKey, Buffer.alloc(0), 'latch audit checkpoint v1', 32));
  return { key, id: `hkdf:${createHash('sha256').update(key).digest('hex').slice(0, 16)}` };
}

interface CanonicalRow {
  id: string;
  occurred_us: string;
  actor_user_id: string | null;
  subject_user_id: string | null;
  action: string;
  outcome: string;
  factor_id: string | null;
  session_id: string | null;
  client_address: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: string;
  txid: string;
}

function rowDigest(row: CanonicalRow): string {
  const canonical = JSON.stringify([
    row.id,
    row.occurred_us,
    row.actor_user_id,
    row.subject_user_id,
    row.action,
    row.outcome,
    row.factor_id,
    row.session_id,
    row.client_address,
    row.user_agent,
    row.request_id,
    row.details,
    row.txid,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** A place in the (txid, id) order of the log; rows after it are (txid, id) > (txid, rowId). */
interface Position {
  txid: string;
  rowId: string;
}

const START: Position = { txid: '0', rowId: '0' };

// The columns come out as text under their own names: an ORDER BY must name the table's columns
// (audit_events.id), or it sorts the text ('10' before '2').
const CANONICAL_COLUMNS = sql`id::text as id, (extract(epoch from occurred_at) * 1000000)::bigint::text as occurred_us,
      actor_user_id::text as actor_user_id, subject_user_id::text as subject_user_id, action, outcome,
      factor_id::text as factor_id, session_id::text as session_id, client_address, user_agent, request_id,
      details::text as details, txid::text as txid`;

/** The rows after `after` (at most `limit`) whose transactions ended before `below`, in (txid, id) order. */
async function rowsToCheckpoint(db: Db, after: Position, below: string, limit: number): Promise<CanonicalRow[]> {
  const result = await sql<CanonicalRow>`
    select ${CANONICAL_COLUMNS} from audit_events
    where (txid, id) > (${after.txid}::xid8, ${after.rowId}::bigint) and txid < ${below}::xid8
    order by audit_events.txid, audit_events.id limit ${limit}`.execute(db);
  return result.rows;
}

/** The rows of one checkpoint's range, as text straight from the database (no float, no Date rounding). */
async function rowsInRange(db: Db, after: Position, upTo: Position): Promise<CanonicalRow[]> {
  const result = await sql<CanonicalRow>`
    select ${CANONICAL_COLUMNS} from audit_events
    where (txid, id) > (${after.txid}::xid8, ${after.rowId}::bigint) and (txid, id) <= (${upTo.txid}::xid8, ${upTo.rowId}::bigint)
    order by audit_events.id`.execute(db);
  return result.rows;
}

interface CheckpointFields {
  seq: number;
  created_at: Date;
  txid_from: string;
  from_row_id: string;
  txid_to: string;
  to_row_id: string;
  row_count: number;
  first_row_id: number | null;
  last_row_id: number | null;
  rows_hash: string;
  prev_hash: string;
}

function checkpointHash(fields: CheckpointFields): string {
  const canonical = JSON.stringify([
    'latch-audit-checkpoint-v1',
    String(fields.seq),
    fields.created_at.toISOString(),
    fields.txid_from,
    fields.txid_to,
    // Only bounded checkpoints have row positions; the older ones' hashes stay as they were.
    ...(fields.from_row_id === '0' && fields.to_row_id === '0' ? [] : [fields.from_row_id, fields.to_row_id]),
    fields.row_count,
    fields.first_row_id === null ? null : String(fields.first_row_id),
    fields.last_row_id === null ? null : String(fields.last_row_id),
    fields.rows_hash,
    fields.prev_hash,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

function sign(key: CheckpointKey, hash: string): string {
  return createHmac('sha256', key.key).update(hash).digest('hex');
}

export interface CheckpointSummary {
  seq: number;
  rowCount: number;
  firstRowId: number | null;
  lastRowId: number | null;
  hash: string;
  /** It took as many rows as it may: more may be waiting. */
  more: boolean;
}

/**
 * Writes the next checkpoint over the rows whose transactions have all ended since the previous
 * one, at most `maxRows` of them (the rest go to the next); null when there is nothing new or
 * another instance is writing one right now (it holds the advisory lock; the primary key on `seq`
 * would refuse a second checkpoint with the same number anyway).
 */
export async function writeCheckpoint(deps: { db: Db; keyring: Keyring }, now: Date, options: { maxRows?: number } = {}): Promise<CheckpointSummary | null> {
  const maxRows = options.maxRows ?? MAX_ROWS_PER_CHECKPOINT;
  const key = checkpointKey(deps.keyring);
  return deps.db.transaction().execute(async (trx) => {
    const locked = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${ADVISORY_LOCK_KEY}::bigint) as locked`.execute(trx);
    if (!locked.rows[0]?.locked) return null;
    // The boundary first, before this transaction writes anything (and so gets an id of its own).
    const boundary = await sql<{ xmin: string }>`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`.execute(trx);
    const to = boundary.rows[0]!.xmin;
    const previous = await trx
      .selectFrom('audit_checkpoints')
      .select(['seq', 'hash', sql<string>`txid_to::text`.as('txid_to'), sql<string>`to_row_id::text`.as('to_row_id')])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    const from: Position = previous ? { txid: previous.txid_to, rowId: previous.to_row_id } : START;
    const rows = await rowsToCheckpoint(trx as unknown as Db, from, to, maxRows);
    if (rows.length === 0) return null;
    const last = rows.at(-1)!;
    const rowDigests = rows.map((row) => `${row.id}:${rowDigest(row)}`).join('\n');
    const fields: CheckpointFields = {
      seq: Number(previous?.seq ?? 0) + 1,
      created_at: now,
      txid_from: from.txid,
      from_row_id: from.rowId,
      txid_to: last.txid,
      to_row_id: last.id,
      row_count: rows.length,
      first_row_id: Number(rows[0]!.id),
      last_row_id: Number(last.id),
      rows_hash: createHash('sha256').update(rowDigests).digest('hex'),
      prev_hash: previous?.hash ?? GENESIS_HASH,
    };
    const hash = checkpointHash(fields);
    const inserted = await trx
      .insertInto('audit_checkpoints')
      .values({ ...fields, row_digests: rowDigests, hash, key_id: key.id, signature: sign(key, hash) })
      .onConflict((oc) => oc.column('seq').doNothing())
      .returning('seq')
      .executeTakeFirst();
    if (!inserted) return null;
    return { seq: fields.seq, rowCount: fields.row_count, firstRowId: fields.first_row_id, lastRowId: fields.last_row_id, hash, more: rows.length === maxRows };
  });
}

/** Checkpoints until nothing is left (a backlog becomes several bounded checkpoints), or `shouldStop`. */
export async function writeCheckpoints(deps: { db: Db; keyring: Keyring }, now: () => Date, options: { maxRows?: number; shouldStop?: () => boolean } = {}): Promise<CheckpointSummary[]> {
  const written: CheckpointSummary[] = [];
  for (;;) {
    const checkpoint = await writeCheckpoint(deps, now(), options);
    if (checkpoint) written.push(checkpoint);
    if (!checkpoint?.more || options.shouldStop?.()) return written;
  }
}

export type VerifyProblem =
  | { kind: 'checkpoint_missing'; seq: number; message: string }
  | { kind: 'checkpoint_altered'; seq: number; message: string }
  | { kind: 'checkpoint_signature'; seq: number; message: string }
  | { kind: 'row_deleted' | 'row_altered' | 'row_added'; seq: number; rowId: number; message: string };

export interface VerifyReport {
  ok: boolean;
  checkpoints: number;
  rows: number;
  /** Rows written after the newest checkpoint: not covered yet. */
  uncheckpointedRows: number;
  /** The newest checkpoint's hash: keep a copy elsewhere to notice the newest checkpoints removed. */
  head: string;
  problem: VerifyProblem | null;
}

/**
 * Walks the chain from the first checkpoint: numbering, links, each checkpoint's own hash and
 * signature, then its rows against the stored digests. Stops at the first problem and names it.
 */
export async function verifyAuditTrail(deps: { db: Db; keyring: Keyring }): Promise<VerifyReport> {
  const key = checkpointKey(deps.keyring);
  let checkpointsChecked = 0;
  let previousHash = GENESIS_HASH;
  let previousEnd: Position = START;
  let rowsChecked = 0;
  const report = (problem: VerifyProblem | null, uncheckpointedRows = 0): VerifyReport => ({
    ok: problem === null,
    checkpoints: checkpointsChecked,
    rows: rowsChecked,
    uncheckpointedRows,
    head: previousHash,
    problem,
  });

  // One checkpoint at a time: a long log has many, each with up to MAX_ROWS_PER_CHECKPOINT digests.
  for (let expectedSeq = 1; ; expectedSeq++) {
    const checkpoint = await deps.db
      .selectFrom('audit_checkpoints')
      .select(['seq', 'created_at', 'row_count', 'first_row_id', 'last_row_id', 'row_digests', 'rows_hash', 'prev_hash', 'hash', 'key_id', 'signature'])
      .select([sql<string>`txid_from::text`.as('txid_from'), sql<string>`txid_to::text`.as('txid_to'), sql<string>`from_row_id::text`.as('from_row_id'), sql<string>`to_row_id::text`.as('to_row_id')])
      .where('seq', '>=', expectedSeq)
      .orderBy('seq')
      .limit(1)
      .executeTakeFirst();
    if (!checkpoint) break;
    const seq = Number(checkpoint.seq);
    if (seq !== expectedSeq) return report({ kind: 'checkpoint_missing', seq: expectedSeq, message: `checkpoint ${expectedSeq} is missing` });
    checkpointsChecked++;
    const fields: CheckpointFields = {
      seq,
      created_at: checkpoint.created_at,
      txid_from: checkpoint.txid_from,
      from_row_id: checkpoint.from_row_id,
      txid_to: checkpoint.txid_to,
      to_row_id: checkpoint.to_row_id,
      row_count: checkpoint.row_count,
      first_row_id: checkpoint.first_row_id === null ? null : Number(checkpoint.first_row_id),
      last_row_id: checkpoint.last_row_id === null ? null : Number(checkpoint.last_row_id),
      rows_hash: checkpoint.rows_hash,
      prev_hash: checkpoint.prev_hash,
    };
    // An older (unbounded) checkpoint ends at (txid_to, 0), i.e. below txid_to; a bounded one at its last row.
    const start: Position = { txid: checkpoint.txid_from, rowId: checkpoint.from_row_id };
    if (checkpoint.prev_hash !== previousHash || start.txid !== previousEnd.txid || start.rowId !== previousEnd.rowId) {
      return report({ kind: 'checkpoint_altered', seq, message: `checkpoint ${seq} does not follow checkpoint ${seq - 1}` });
    }
    if (checkpointHash(fields) !== checkpoint.hash || createHash('sha256').update(checkpoint.row_digests).digest('hex') !== checkpoint.rows_hash) {
      return report({ kind: 'checkpoint_altered', seq, message: `checkpoint ${seq} was altered (its hash does not match its contents)` });
    }
    if (checkpoint.key_id !== key.id || !constantTimeEqual(sign(key, checkpoint.hash), checkpoint.signature)) {
      return report({ kind: 'checkpoint_signature', seq, message: `checkpoint ${seq} is not signed by this server's key` });
    }
    const end: Position = { txid: checkpoint.txid_to, rowId: checkpoint.to_row_id };
    // Bounded checkpoints list their rows in (txid, id) order, older ones in id order: compare in id order.
    const expected = (checkpoint.row_digests === '' ? [] : checkpoint.row_digests.split('\n').map((line) => line.split(':') as [string, string])).sort(byId);
    const actual = (await rowsInRange(deps.db, start, end)).map((row) => [row.id, rowDigest(row)] as [string, string]);
    // Both lists are in id order: walk them together; the first difference is the row to name.
    let i = 0;
    let j = 0;
    while (i < expected.length || j < actual.length) {
      const [expectedId, expectedDigest] = expected[i] ?? [];
      const [actualId, actualDigest] = actual[j] ?? [];
      if (expectedId !== undefined && (actualId === undefined || BigInt(expectedId) < BigInt(actualId))) {
        return report({ kind: 'row_deleted', seq, rowId: Number(expectedId), message: `audit row ${expectedId} (checkpoint ${seq}) was deleted` });
      }
      if (actualId !== undefined && (expectedId === undefined || BigInt(actualId) < BigInt(expectedId))) {
        return report({ kind: 'row_added', seq, rowId: Number(actualId), message: `audit row ${actualId} is not in checkpoint ${seq} (inserted or moved afterwards)` });
      }
      if (expectedDigest !== actualDigest) {
        return report({ kind: 'row_altered', seq, rowId: Number(expectedId), message: `audit row ${expectedId} (checkpoint ${seq}) was altered` });
      }
      rowsChecked++;
      i++;
      j++;
    }
    previousHash = checkpoint.hash;
    previousEnd = end;
  }
  const tail = await sql<{ n: string }>`
    select count(*)::text as n from audit_events where (txid, id) > (${previousEnd.txid}::xid8, ${previousEnd.rowId}::bigint)`.execute(deps.db);
  // Every row at or before the last checkpoint's end is in some range (ranges start at the very
  // beginning and follow each other), so the tail is everything a checkpoint has not covered yet.
  return report(null, Number(tail.rows[0]?.n ?? 0));
}

function byId(a: [string, string], b: [string, string]): number {
  const x = BigInt(a[0]);
  const y = BigInt(b[0]);
  return x < y ? -1 : x > y ? 1 : 0;
}

export interface Checkpointer {
  stop(): Promise<void>;
}

/** The server's background task: a checkpoint every minute; with several instances one wins each time. */
export function startAuditCheckpointer(deps: { db: Db; keyring: Keyring; clock: Clock; logger: Logger }, options: { intervalMs?: number } = {}): Checkpointer {
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  let busy = false;
  const timer = setInterval(() => {
    // A backlog can take longer than the interval: one run at a time in this process.
    if (stopped || busy) return;
    busy = true;
    running = writeCheckpoints(deps, () => deps.clock.now(), { shouldStop: () => stopped })
      .catch((error: Error) => deps.logger.warn('audit checkpoint failed', { errorName: error.name }))
      .finally(() => (busy = false));
  }, options.intervalMs ?? CHECKPOINT_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
