import { hash as argon2Hash } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { insertBackupCodeSet } from '../src/factors/backup-codes.ts';
import { verifyPassword } from '../src/factors/password.ts';
import { createUser } from '../src/users/users.ts';
import { createTestApp, insertFactor } from './helpers/app.ts';
import { passwordStep, uniqueUsername } from './helpers/fallback.ts';

const t = await createTestApp();
const PASSWORD = 'imported legacy passphrase';

function scryptHash(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32, { N: 2 ** 14, r: 8, p: 1 });
  return `$scrypt$ln=14,r=8,p=1$${salt.toString('base64')}$${hash.toString('base64')}`;
}

const legacyHashes: Record<string, () => Promise<string>> = {
  'bcrypt $2a$': async () => bcrypt.hash(PASSWORD, 8).then((hash) => hash.replace(/^\$2b\$/, '$2a$')),
  'bcrypt $2b$': async () => bcrypt.hash(PASSWORD, 8),
  'bcrypt $2y$': async () => bcrypt.hash(PASSWORD, 8).then((hash) => hash.replace(/^\$2b\$/, '$2y$')),
  'argon2i': async () => argon2Hash(PASSWORD, { algorithm: 1, memoryCost: 8192, timeCost: 3 }),
  'argon2id with weaker parameters': async () => argon2Hash(PASSWORD, { algorithm: 2, memoryCost: 4096, timeCost: 1 }),
  scrypt: async () => scryptHash(PASSWORD),
};

/** An imported user: the legacy password hash and a backup-code set as the second factor. */
async function importUser(legacyHash: string) {
  const user = (await createUser(t.db, { username: uniqueUsername('imported') }, t.clock.now()))!;
  await insertFactor(t.db, user.id, { kind: 'password', password_hash: legacyHash }, t.clock.now());
  const { codes } = await insertBackupCodeSet(t.db, t.keyring, user.id, t.clock.now());
  return { user, codes };
}

async function storedHash(userId: string) {
  const row = await t.db.selectFrom('factors').select('password_hash').where('user_id', '=', userId).where('kind', '=', 'password').where('status', '=', 'active').executeTakeFirstOrThrow();
  return row.password_hash!;
}

describe('imported legacy password hashes verify and are re-hashed to argon2id on the next successful sign-in', () => {
  for (const [name, make] of Object.entries(legacyHashes)) {
    it(name, async () => {
      const legacy = await make();
      expect(await verifyPassword(legacy, 'wrong password')).toEqual({ valid: false, needsRehash: false });
      const { user, codes } = await importUser(legacy);
      const client = t.client();
      const ticket = await passwordStep(client, user.username, PASSWORD);
      // The password step alone changes nothing: a re-hash then would tell an attacker the password was right.
      expect(await storedHash(user.id)).toBe(legacy);
      const response = await client.post('/api/signin/backup-code', { ticket, code: codes[0] });
      expect(response.status).toBe(200);
      const rehashed = await storedHash(user.id);
      expect(rehashed).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(await verifyPassword(rehashed, PASSWORD)).toEqual({ valid: true, needsRehash: false });
      // The sealed copy of the password in the ticket is gone with the ticket's use.
      expect((await t.db.selectFrom('ceremonies').select('consumed_at').where('user_id', '=', user.id).executeTakeFirstOrThrow()).consumed_at).not.toBeNull();
    });
  }

  it('a malformed imported hash is a failed check, never a crash', async () => {
    for (const broken of ['$2b$10$short', '$argon2id$garbage', '$scrypt$ln=99,r=1,p=1$AA==$AA==', 'plaintext', '']) {
      expect(await verifyPassword(broken, PASSWORD)).toEqual({ valid: false, needsRehash: false });
    }
    const { user } = await importUser('$2b$10$short');
    const response = await t.client().post('/api/signin/password', { username: user.username, password: PASSWORD });
    expect(response.status).toBe(200);
  });
});

describe('password policy', () => {
  const cases: Array<[string, string, string]> = [
    ['too short', 'short7!', 'too_short'],
    ['one of the most common', 'Password123', 'common'],
    ['the username', 'policy-user-name', 'username'],
    ['too long', 'x'.repeat(257), 'too_long'],
  ];
  for (const [name, password, reason] of cases) {
    it(`refuses a password that is ${name}`, async () => {
      const response = await t.client().post('/api/signup/totp/start', { username: 'policy-user-name', password });
      expect(response.status).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'weak_password', reason });
    });
  }

  it('accepts a long passphrase with spaces and non-ASCII', async () => {
    const response = await t.client().post('/api/signup/totp/start', { username: uniqueUsername(), password: 'ünïcödé pässphrase ' + 'x'.repeat(100) });
    expect(response.status).toBe(200);
  });
});
