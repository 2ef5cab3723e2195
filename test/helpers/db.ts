import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import type { LogConfig } from 'kysely';
import { connectPostgres, openEmbedded, type Db } from '../../src/db/database.ts';

export interface TestDatabase {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** The connection URL on PostgreSQL (for a server started as its own process); null on PGlite. */
  url: string | null;
  /** Opens another handle on the same database (a second "instance"); PGlite has only one. */
  connectAgain(): Db;
  close(): Promise<void>;
}

/**
 * A freshly migrated database of its own for a test file: a copy of the run's template database
 * on PostgreSQL (TEST_DATABASE_URL), otherwise an in-memory PGlite loaded from the migrated dump.
 */
export async function createTestDatabase(options: { log?: LogConfig } = {}): Promise<TestDatabase> {
  const url = process.env.TEST_DATABASE_URL;
  if (url) {
    // Named after the run's template, so the run's teardown finds and drops it.
    const name = `${inject('templateDatabase')}_f_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create database ${name} template ${inject('templateDatabase')}`);
    await admin.end();
    const databaseUrl = new URL(url);
    databaseUrl.pathname = `/${name}`;
    const handles: Db[] = [];
    const connect = () => {
      const handle = connectPostgres(databaseUrl.toString(), { max: 10, ...(options.log ? { log: options.log } : {}) });
      handles.push(handle);
      return handle;
    };
    const db = connect();
    return {
      db,
      kind: 'postgres',
      url: databaseUrl.toString(),
      connectAgain: connect,
      async close() {
        // The database itself is dropped by the run's teardown, once no worker holds a connection:
        // dropping it here would race the pool's closing sockets.
        await Promise.all(handles.map((handle) => handle.destroy()));
      },
    };
  }
  const dump = await readFile(inject('pgliteDumpPath'));
  const { db } = await openEmbedded(null, new Blob([dump]), options);
  return {
    db,
    kind: 'pglite',
    url: null,
    connectAgain: () => db,
    async close() {
      await db.destroy();
    },
  };
}
