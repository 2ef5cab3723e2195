import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql, type LogConfig } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import { timestamptzParser } from './timestamptz.ts';
import { prepareRepeatedStatements, PreparedStatementNames } from './prepared-statements.ts';

export type Db = Kysely<Database>;

const INT8_OID = 20;

const TIMESTAMPTZ_OID = 1184;

// int8 holds counters (sign counts, time steps, audit ids) far below 2^53: read them as numbers.
pg.types.setTypeParser(INT8_OID, (value) => Number(value));
// Timestamps in the form PostgreSQL prints them, faster than pg's parser (which stays the fallback).
pg.types.setTypeParser(TIMESTAMPTZ_OID, timestamptzParser(pg.types.getTypeParser(TIMESTAMPTZ_OID, 'text')));

const CONNECT_TIMEOUT_MS = 5_000;

/** The pg pool behind each PostgreSQL handle, for the metrics' pool gauges. */
const pools = new WeakMap<Db, pg.Pool>();

/**
 * `log`: Kysely's query log (every statement the connection sends, BEGIN and COMMIT included); tests count statements with it.
 * `preparedStatements` (default true): repeated statements are prepared once per connection (src/db/prepared-statements.ts).
 */
export function connectPostgres(connectionString: string, options: { max?: number; log?: LogConfig; preparedStatements?: boolean } = {}): Db {
  // connectionTimeoutMillis bounds both opening a connection and waiting for a free one: with
  // PostgreSQL unreachable (not refusing, just silent) a request gets 503 database_unavailable
  // ("timeout exceeded when trying to connect") instead of hanging until the client gives up.
  // keepAlive lets the kernel notice a peer that vanished without closing the socket.
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true });
  // An idle connection the server ends (a restart, admin_shutdown) emits 'error' on the pool:
  // unhandled, that would crash the process. The pool drops it and opens a new one when needed.
  pool.on('error', () => {});
  // pg-pool listens for a client's errors only while it sits idle in the pool. While Kysely holds it
  // (between the statements of a transaction, or between acquiring it and the first query), an error
  // the server sends unprompted (57P01 admin_shutdown when PostgreSQL stops, a terminated backend)
  // is emitted on the client with no listener: an uncaught 'error' event that ends the process.
  // Swallow it here: the client is already marked unusable, its next query fails with "not
  // queryable" (mapped to 503 database_unavailable), and the pool drops it when it is released.
  const statementNames = options.preparedStatements === false ? null : new PreparedStatementNames();
  pool.on('connect', (client) => {
    client.on('error', () => {});
    if (statementNames) prepareRepeatedStatements(client, statementNames);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), ...(options.log ? { log: options.log } : {}) });
  pools.set(db, pool);
  return db;
}

export function poolOf(db: Db): pg.Pool | null {
  return pools.get(db) ?? null;
}

/** `dataDir` null: in memory (tests). Otherwise files in that folder, kept across restarts. */
export async function openEmbedded(dataDir: string | null, loadDataDir?: Blob, options: { log?: LogConfig } = {}): Promise<{ db: Db; pglite: PGlite }> {
  const pglite = await PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    ...(loadDataDir ? { loadDataDir } : {}),
  });
  return { db: new Kysely<Database>({ dialect: new PGliteDialect(pglite), ...(options.log ? { log: options.log } : {}) }), pglite };
}

export async function isDatabaseReady(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
