import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compiledOnce } from '../src/db/compiled-once.ts';
import { createUser } from '../src/users/users.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

/**
 * A query compiled once and run with each call's values (src/db/compiled-once.ts; the session
 * check uses it). The danger is answering one call with another's values: each run must bind its
 * own arguments, on PGlite and PostgreSQL, inside a transaction too.
 */
describe('compiledOnce', () => {
  let database: TestDatabase;
  const now = new Date('2026-01-01T00:00:00Z');

  beforeAll(async () => {
    database = await createTestDatabase();
    for (const username of ['alice-co', 'bob-co', 'carol-co']) await createUser(database.db, { username }, now);
  });
  afterAll(() => database.close());

  const byName = compiledOnce(2, (db, username: string, createdBefore: Date) =>
    db.selectFrom('users').select(['username', 'created_at']).where('username', '=', username).where('created_at', '<', createdBefore),
  );

  it('binds each call its own values, repeatedly and concurrently', async () => {
    const later = new Date(now.getTime() + 1000);
    expect((await byName(database.db, 'alice-co', later)).map((row) => row.username)).toEqual(['alice-co']);
    expect((await byName(database.db, 'bob-co', later)).map((row) => row.username)).toEqual(['bob-co']);
    expect(await byName(database.db, 'bob-co', now)).toEqual([]); // the second value is bound too
    const results = await Promise.all(['alice-co', 'bob-co', 'carol-co', 'nobody'].map((name) => byName(database.db, name, later)));
    expect(results.map((rows) => rows.map((row) => row.username))).toEqual([['alice-co'], ['bob-co'], ['carol-co'], []]);
  });

  it('runs inside a transaction, seeing its uncommitted rows', async () => {
    await database.db
      .transaction()
      .execute(async (trx) => {
        await createUser(trx, { username: 'dave-co' }, now);
        expect((await byName(trx, 'dave-co', new Date(now.getTime() + 1000))).map((row) => row.username)).toEqual(['dave-co']);
        throw new Error('roll back');
      })
      .catch((error: Error) => expect(error.message).toBe('roll back'));
    expect(await byName(database.db, 'dave-co', new Date(now.getTime() + 1000))).toEqual([]);
  });

  it('refuses an argument that shapes the query instead of being one of its values', async () => {
    // Compiled once, the first call's choice would hold for every later call.
    const shaped = compiledOnce(1, (db, adminsOnly: boolean) => {
      const query = db.selectFrom('users').select('username');
      return adminsOnly ? query.where('is_admin', '=', true) : query;
    });
    await expect(shaped(database.db, false)).rejects.toThrow(/argument 0 is not a parameter/);
  });
});
