import { createReadStream, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readKeycloakExport } from '../../src/import/adapters/keycloak.ts';
import { createFlows } from '../auth/helpers.ts';
import { importFootprint, rfc6238, runImport, signInWithPasswordAndCode, storedPasswordHash, userNamed } from './helpers.ts';

const f = await createFlows();
const FIXTURE = new URL('../fixtures/import/keycloak-realm.json', import.meta.url);
/** Small chunks, so users and strings straddle chunk boundaries as in a large file. */
const realm = () => readKeycloakExport(createReadStream(FIXTURE, { highWaterMark: 97 }));
const lineOf = (needle: string) => readFileSync(FIXTURE, 'utf8').split('\n').findIndex((line) => line.includes(needle)) + 1;

/**
 * The fixture is a `kc.sh export` realm file (Keycloak 26 field names): passwords are the PBKDF2
 * keys Keycloak derives (computed independently with node:crypto for known passwords), OTP
 * credentials are Keycloak's raw secret strings.
 */
describe('Keycloak realm export import', () => {
  it('imports every user but the bad one in the middle (reported at its line), skips service accounts', async () => {
    const { summary, links } = await runImport(f, realm(), { format: 'keycloak' });
    expect(summary).toMatchObject({ imported: 4, updated: 0, skipped: 0, failed: 1 });
    expect(summary.errors).toEqual([{ line: lineOf('a1b2c3d4-0003') - 1, reason: 'password algorithm "md5-legacy" is not supported' }]);
    expect(JSON.stringify(summary)).not.toContain('5f4dcc3b');
    expect(await userNamed(f, 'mallory')).toBeUndefined();
    expect(await userNamed(f, 'service-account-admin-cli')).toBeUndefined();
    // carol has a password only: one link, nobody else.
    expect(links.map((link) => link.username)).toEqual(['carol']);

    const alice = (await userNamed(f, 'alice'))!;
    expect(alice).toMatchObject({ display_name: 'Alice Liddell', email: 'alice@acme.example' });
    expect(alice.email_verified_at).not.toBeNull();
    expect((await userNamed(f, 'bob'))!.email_verified_at).toBeNull();
    const groups = await f.deps.db
      .selectFrom('group_members')
      .innerJoin('groups', 'groups.id', 'group_members.group_id')
      .innerJoin('users', 'users.id', 'group_members.user_id')
      .select(['users.username', 'groups.name'])
      .orderBy('users.username')
      .execute();
    expect(groups).toEqual([
      { username: 'alice', name: 'engineering/backend' },
      { username: 'carol', name: 'engineering' },
    ]);
    expect(await storedPasswordHash(f, alice.id)).toMatch(/^\$pbkdf2-sha256\$27500\$/);
  });

  it('re-importing the same export changes nothing', async () => {
    const footprint = await importFootprint(f);
    const { summary, links } = await runImport(f, realm(), { format: 'keycloak' });
    expect(summary).toMatchObject({ imported: 0, updated: 0, skipped: 4, failed: 1 });
    expect(links).toEqual([]);
    expect(await importFootprint(f)).toEqual(footprint);
  });

  // The HMAC key is the UTF-8 bytes of Keycloak's stored value (what its QR code base32-encodes), not a base32 decoding of it.
  it('alice (PBKDF2-SHA256, 512-bit key; OTP HmacSHA1) signs in with her password and her app’s codes, then holds argon2id', async () => {
    const key = Buffer.from('Kx2eVJ8p4rA1mNq7Ws3z', 'utf8');
    const signedIn = await signInWithPasswordAndCode(f, 'alice', 'Alice-Keycloak-1', (now) => rfc6238(key, now));
    expect(signedIn.user.username).toBe('alice');
    expect(await storedPasswordHash(f, signedIn.user.id)).toMatch(/^\$argon2id\$/);
  });

  it('bob (PBKDF2-SHA512, 210,000 iterations; OTP HmacSHA256, 8 digits) signs in', async () => {
    const key = Buffer.from('pQ9wE3rT5yU7iO1aS2dF', 'utf8');
    const signedIn = await signInWithPasswordAndCode(f, 'bob', 'Bob-Keycloak-22', (now) => rfc6238(key, now, { algorithm: 'sha256', digits: 8 }));
    expect(signedIn.user.username).toBe('bob');
  });

  it('dave (argon2 credential of Keycloak 24+; OTP with secretEncoding BASE32) signs in', async () => {
    const key = Buffer.from('48656c6c6f21deadbeef48656c6c6f21deadbeef', 'hex'); // JBSWY3DPEHPK3PXP twice
    const signedIn = await signInWithPasswordAndCode(f, 'dave', 'Dave-Keycloak-4444', (now) => rfc6238(key, now));
    expect(signedIn.user.username).toBe('dave');
  });

  it('a wrong password or a code from the wrong key does not sign in', async () => {
    const key = Buffer.from('Kx2eVJ8p4rA1mNq7Ws3z', 'utf8');
    await expect(signInWithPasswordAndCode(f, 'alice', 'Alice-Keycloak-2', (now) => rfc6238(key, now))).rejects.toThrow();
    const anotherKey = Buffer.from('pQ9wE3rT5yU7iO1aS2df', 'utf8');
    await expect(signInWithPasswordAndCode(f, 'bob', 'Bob-Keycloak-22', (now) => rfc6238(anotherKey, now, { algorithm: 'sha256', digits: 8 }))).rejects.toThrow();
  });
});
