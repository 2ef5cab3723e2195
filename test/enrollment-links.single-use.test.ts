import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyring } from '../src/crypto/keyring.ts';
import { consumeEnrollmentLink, createEnrollmentLink, findUsableEnrollmentLink, revokeEnrollmentLinks } from '../src/enrollment/links.ts';
import { createUser } from '../src/users/users.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

describe('enrollment links: single use, expiring, only the hash stored', () => {
  let database: TestDatabase;
  const keyring = generateKeyring();
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.close();
  });

  it('stores only a keyed hash of the token, and the token works once', async () => {
    const now = new Date('2026-11-27T10:00:00Z');
    const user = (await createUser(database.db, { username: 'link-once' }, now))!;
    const { token, link } = await createEnrollmentLink(database.db, keyring, { userId: user.id, purpose: 'admin', ttlSeconds: 3600, createdBy: null, now });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const rows = await database.db.selectFrom('enrollment_links').selectAll().where('id', '=', link.id).execute();
    expect(JSON.stringify(rows)).not.toContain(token);
    expect((await findUsableEnrollmentLink(database.db, keyring, token, now))?.id).toBe(link.id);
    expect((await consumeEnrollmentLink(database.db, keyring, token, now))?.id).toBe(link.id);
    expect(await consumeEnrollmentLink(database.db, keyring, token, now)).toBeNull();
    expect(await findUsableEnrollmentLink(database.db, keyring, token, now)).toBeNull();
  });

  it('expires', async () => {
    const now = new Date('2026-11-27T10:00:00Z');
    const user = (await createUser(database.db, { username: 'link-expires' }, now))!;
    const { token } = await createEnrollmentLink(database.db, keyring, { userId: user.id, purpose: 'import', ttlSeconds: 60, createdBy: null, now });
    const later = new Date(now.getTime() + 61_000);
    expect(await findUsableEnrollmentLink(database.db, keyring, token, later)).toBeNull();
    expect(await consumeEnrollmentLink(database.db, keyring, token, later)).toBeNull();
  });

  it('a new link can replace the old ones', async () => {
    const now = new Date('2026-11-27T10:00:00Z');
    const user = (await createUser(database.db, { username: 'link-replaced' }, now))!;
    const first = await createEnrollmentLink(database.db, keyring, { userId: user.id, purpose: 'admin', ttlSeconds: 3600, createdBy: null, now });
    expect(await revokeEnrollmentLinks(database.db, user.id, 'admin', now)).toBe(1);
    expect(await findUsableEnrollmentLink(database.db, keyring, first.token, now)).toBeNull();
  });

  it('concurrent uses of one link: exactly one wins', async () => {
    const now = new Date('2026-11-27T10:00:00Z');
    const user = (await createUser(database.db, { username: 'link-race' }, now))!;
    const { token } = await createEnrollmentLink(database.db, keyring, { userId: user.id, purpose: 'admin', ttlSeconds: 3600, createdBy: null, now });
    const other = database.connectAgain();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => consumeEnrollmentLink(i % 2 ? other : database.db, keyring, token, now)));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
  });
});
