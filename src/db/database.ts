import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql, type LogConfig } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';
import { PGliteDialect } from './pglite-dialect.ts';

export type Db = Kysely<Database>;

const INT8_OID = 20;

// int8 holds counters (sign counts, time steps, audit ids) far below 2^53: read them as numbers.
pg.types.setTypeParser(INT8_OID, (value) => Number(value));

/** The pg pool behind each PostgreSQL handle, for the metrics' pool gauges. */
const pools = new WeakMap<Db, pg.Pool>();

/** `log`: Kysely's query log (every statement the connection sends, BEGIN and COMMIT included); tests count statements with it. */
export function connectPostgres(connectionString: string, options: { max?: number; log?: LogConfig } = {}): Db {
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10 });
  // An idle connection the server ends (a restart, admin_shutdown) emits 'error' on the pool:
  // unhandled, that would crash the process. The pool drops it and opens a new one when needed.
  pool.on('error', () => {});
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
