import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { compiledOnce, compiledOnceNamed } from '../src/db/compiled-once.ts';
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

  it('binds named values, in a raw sql template too, concurrently and inside a transaction', async () => {
    const named = compiledOnceNamed<{ first: string; second: string }, { username: string }>(['first', 'second'], (db, values) =>
      sql<{ username: string }>`select username from users where username in (${values.first}, ${values.second}) order by username`,
    );
    const results = await Promise.all([
      named(database.db, { first: 'alice-co', second: 'carol-co' }),
      named(database.db, { first: 'bob-co', second: 'nobody' }),
    ]);
    expect(results.map((rows) => rows.map((row) => row.username))).toEqual([['alice-co', 'carol-co'], ['bob-co']]);
    await database.db.transaction().execute(async (trx) => {
      expect((await named(trx, { first: 'carol-co', second: 'bob-co' })).map((row) => row.username)).toEqual(['bob-co', 'carol-co']);
    });
  });

  it('refuses a named value that does not come out as a parameter', async () => {
    const unused = compiledOnceNamed<{ username: string; unused: string }, { username: string }>(['username', 'unused'], (db, values) =>
      db.selectFrom('users').select('username').where('username', '=', values.username),
    );
    await expect(unused(database.db, { username: 'alice-co', unused: 'x' })).rejects.toThrow(/value unused is not a parameter/);
  });
});
