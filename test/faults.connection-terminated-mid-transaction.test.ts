import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../src/db/unavailable.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

/**
 * PostgreSQL ends a connection (a fast stop, a restart, pg_terminate_backend) while the server
 * holds it between two statements of a transaction. pg emits that error on the client, and
 * pg-pool listens only on idle clients: unhandled, the 'error' event ended the whole process,
 * so every later request failed instead of getting 503 database_unavailable (that is what made
 * test/faults.postgres-restart.test.ts time out). Deterministic here: the backend is terminated
 * exactly while the transaction waits between statements.
 */
describe.runIf(!!process.env.TEST_DATABASE_URL)('a connection ended by PostgreSQL while a transaction holds it', () => {
  let database: TestDatabase;
  let admin: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    admin = new pg.Client({ connectionString: database.url! });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await database?.close();
  });

  it('does not crash the process; the next statement fails as database-unavailable and the pool reconnects', async () => {
    let failure: unknown = null;
    try {
      await database.db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
        const pid = rows[0]!.pid;
        await admin.query('select pg_terminate_backend($1)', [pid]);
        // Wait for the backend to be gone, then for its FATAL message to reach the client between statements.
        for (let i = 0; i < 100; i++) {
          const { rowCount } = await admin.query('select 1 from pg_stat_activity where pid = $1', [pid]);
          if (rowCount === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
        await sql`select 1`.execute(trx);
      });
    } catch (error) {
      failure = error;
    }
    expect(failure).not.toBeNull();
    expect(isDatabaseUnavailable(failure)).toBe(true);

    // The pool dropped the dead client and opens a fresh one.
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(database.db);
    expect(rows[0]!.one).toBe(1);
  });
});
