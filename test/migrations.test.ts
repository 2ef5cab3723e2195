import { sql } from 'kysely';
import { describe, expect, inject, it } from 'vitest';
import { migrateDown, migrateToLatest } from '../src/db/migrate.ts';
import { migrations } from '../migrations/index.ts';
import { createTestDatabase } from './helpers/db.ts';

describe('migrations', () => {
  it('run down to nothing and up again', async () => {
    const database = await createTestDatabase();
    try {
      for (let i = 0; i < Object.keys(migrations).length; i++) {
        const result = await migrateDown(database.db);
        expect(result.error).toBeUndefined();
      }
      const tables = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = 'public' and table_name in ('users', 'factors', 'sessions', 'audit_events')`.execute(database.db);
      expect(tables.rows[0]!.n).toBe(0);
      const up = await migrateToLatest(database.db);
      expect(up.results?.map((r) => r.status).every((status) => status === 'Success')).toBe(true);
    } finally {
      await database.close();
    }
  });

  it('the factors table refuses a passkey row without its key material (per-kind CHECK)', async () => {
    const database = await createTestDatabase();
    try {
      const now = new Date();
      const user = await database.db.insertInto('users').values({ username: 'check', display_name: 'check', webauthn_user_id: 'h', status: 'active', created_at: now, updated_at: now, disabled_at: null }).returning('id').executeTakeFirstOrThrow();
      await expect(
        database.db.insertInto('factors').values({ user_id: user.id, kind: 'passkey', status: 'active', created_at: now, activated_at: now, credential_id: 'abc' } as never).execute(),
      ).rejects.toThrow(/factors_passkey_columns/);
      await expect(
        database.db.insertInto('factors').values({ user_id: user.id, kind: 'totp', status: 'active', created_at: now, activated_at: now, secret_sealed: 's', key_id: 'k1', algorithm: 'SHA1', digits: 6, period_seconds: 30, password_hash: 'x' } as never).execute(),
      ).rejects.toThrow(/factors_password_columns/);
    } finally {
      await database.close();
    }
  });
});

describe.runIf(process.env.TEST_DATABASE_URL)('several instances starting at once on PostgreSQL', () => {
  it('migrate once under the lock; every instance starts', async () => {
    const { default: pg } = await import('pg');
    const { connectPostgres } = await import('../src/db/database.ts');
    const url = new URL(process.env.TEST_DATABASE_URL!);
    // Under the run's prefix: the run's teardown drops it once no pool is still closing.
    const name = `${inject('templateDatabase')}_f_concurrent`;
    const admin = new pg.Client({ connectionString: url.toString() });
    await admin.connect();
    await admin.query(`create database ${name}`);
    url.pathname = `/${name}`;
    const instances = [1, 2, 3, 4].map(() => connectPostgres(url.toString(), { max: 2 }));
    try {
      const results = await Promise.all(instances.map((db) => migrateToLatest(db)));
      const applied = results.flatMap((result) => result.results ?? []).filter((r) => r.status === 'Success');
      expect(applied).toHaveLength(Object.keys(migrations).length); // each migration ran exactly once
      const rows = await sql<{ n: number }>`select count(*)::int as n from kysely_migration`.execute(instances[0]!);
      expect(rows.rows[0]!.n).toBe(Object.keys(migrations).length);
    } finally {
      await Promise.all(instances.map((db) => db.destroy()));
      await admin.end();
    }
  });
});
