import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyring } from '../src/crypto/keyring.ts';
import { connectPostgres, type Db } from '../src/db/database.ts';
import { preparable, PreparedStatementNames } from '../src/db/prepared-statements.ts';
import { createSession, lookUpSession } from '../src/sessions/sessions.ts';
import { createUser } from '../src/users/users.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

/**
 * Repeated statements are prepared once per PostgreSQL connection (src/db/prepared-statements.ts).
 * The danger is a rolling upgrade: an instance of the previous version keeps its prepared
 * statements while the new version's migration adds a column, and PostgreSQL refuses to run a
 * prepared statement whose result columns changed. So a statement whose result is `*` is never
 * prepared, and the session check names its columns.
 */
describe('which statements are prepared', () => {
  it('a text is named the second time it is seen, and keeps its name', () => {
    const names = new PreparedStatementNames();
    const text = 'select "id" from "users" where "id" = $1';
    expect(names.nameFor(text)).toBeNull();
    const name = names.nameFor(text);
    expect(name).toMatch(/^latch_\d+$/);
    expect(names.nameFor(text)).toBe(name);
    expect(names.nameFor('select "id" from "factors" where "id" = $1')).toBeNull();
  });

  it('stops naming new texts at its limit (prepared statements live in every backend)', () => {
    const names = new PreparedStatementNames(2);
    for (const table of ['a', 'b', 'c']) {
      names.nameFor(`select x from ${table} where y = $1`);
      names.nameFor(`select x from ${table} where y = $1`);
    }
    expect(names.size).toBe(2);
    expect(names.nameFor('select x from c where y = $1')).toBeNull();
  });

  it('forgets texts seen once when too many were (one-offs do not pile up)', () => {
    const names = new PreparedStatementNames(10, 3);
    names.nameFor('select 1 where $1');
    for (const n of [2, 3, 4]) names.nameFor(`select ${n} where $1`);
    expect(names.nameFor('select 1 where $1')).toBeNull(); // seen once again, after the reset
    expect(names.nameFor('select 1 where $1')).toMatch(/^latch_/);
  });

  it('a top-level `*` is not prepared; a `*` inside parentheses or quotes is', () => {
    expect(preparable('select * from users where id = $1')).toBe(false);
    expect(preparable('select "sessions".*, "users"."username" from sessions join users on true where token_hash = $1')).toBe(false);
    expect(preparable('insert into users (id) values ($1) returning *')).toBe(false);
    expect(preparable('select a * 2 from t where b = $1')).toBe(false);
    expect(preparable('select count(*) from users where status = $1')).toBe(true);
    expect(preparable('with c as (update ceremonies set consumed_at = $1 returning *) select (select to_jsonb(c) from c) as ceremony')).toBe(true);
    expect(preparable(`select "id" from "users" where "username" = '*' and id = $1`)).toBe(true);
    expect(preparable('select "id" from "a*b" where id = $1')).toBe(true);
  });
});

describe.runIf(process.env.TEST_DATABASE_URL)('prepared statements on PostgreSQL', () => {
  let database: TestDatabase;
  let db: Db;
  const keyring = generateKeyring();
  const now = new Date();

  beforeAll(async () => {
    database = await createTestDatabase();
    // One connection, so the statements this test prepares are the ones pg_prepared_statements lists.
    db = connectPostgres(database.url!, { max: 1 });
  });
  afterAll(async () => {
    await db.destroy();
    await database.close();
  });

  async function preparedTexts(): Promise<string[]> {
    const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(db);
    return rows.map((row) => row.statement);
  }

  it('prepared-statements.rolling-upgrade-column-added: the session check keeps working when a migration adds a column', async () => {
    const user = (await createUser(db, { username: 'prepared-alice' }, now))!;
    const lifetimes = { idleSeconds: 3600, absoluteSeconds: 86400 };
    const context = { now, clientAddress: '203.0.113.9', userAgent: 'test', requestId: 'r' };
    const { token } = await createSession(db, keyring, user.id, { amr: ['passkey'], factorIds: [], aal: 2, phishingResistant: true }, lifetimes, context);
    for (let i = 0; i < 3; i++) expect((await lookUpSession(db, keyring, token, lifetimes, now))?.user.username).toBe('prepared-alice');
    // The session check's SELECT is prepared on this connection now.
    expect((await preparedTexts()).some((text) => text.includes('from "sessions" inner join "users"'))).toBe(true);

    // The next version's migration, from another instance's connection.
    const other = database.connectAgain();
    await sql`alter table sessions add column added_by_next_version text`.execute(other);
    await sql`alter table users add column also_added text`.execute(other);

    const after = await lookUpSession(db, keyring, token, lifetimes, now);
    expect(after?.user.username).toBe('prepared-alice');
    expect(after?.session.user_id).toBe(user.id);
    expect(Object.keys(after!.session)).not.toContain('added_by_next_version');
  });

  it('a statement with a top-level `*` is never prepared, however often it runs', async () => {
    for (let i = 0; i < 3; i++) await db.selectFrom('users').selectAll().where('username', '=', 'prepared-alice').execute();
    for (let i = 0; i < 3; i++) await db.selectFrom('users').select('id').where('username', '=', 'prepared-alice').execute();
    const texts = await preparedTexts();
    expect(texts.some((text) => text.startsWith('select "id" from "users" where "username" = $1'))).toBe(true);
    expect(texts.some((text) => text.startsWith('select * from "users"'))).toBe(false);
  });

  it('LATCH_PREPARED_STATEMENTS=false: nothing is prepared (a pooler in transaction mode)', async () => {
    const unprepared = connectPostgres(database.url!, { max: 1, preparedStatements: false });
    try {
      for (let i = 0; i < 3; i++) await unprepared.selectFrom('users').select('id').where('username', '=', 'x').execute();
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements`.execute(unprepared);
      expect(rows[0]!.n).toBe(0);
    } finally {
      await unprepared.destroy();
    }
  });
});
