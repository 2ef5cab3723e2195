import { createReadStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseTotpExport, readAutheliaUsers } from '../../src/import/adapters/authelia.ts';
import { createFlows } from '../auth/helpers.ts';
import { importFootprint, rfc6238, runImport, signInWithPasswordAndCode, storedPasswordHash, userNamed } from './helpers.ts';

const f = await createFlows();
const fixture = (name: string) => new URL(`../fixtures/import/${name}`, import.meta.url);
const USERS = fixture('authelia-users_database.yml');
const source = (totp = 'authelia-totp.csv') => readAutheliaUsers(createReadStream(USERS), createReadStream(fixture(totp)));
const lineOf = (needle: string) => readFileSync(USERS, 'utf8').split('\n').findIndex((line) => line.includes(needle)) + 1;

/** RFC 4648 base32 decoding, written out here rather than borrowed from the code under test. */
function fromBase32(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of text) {
    value = (value << 5) | alphabet.indexOf(char);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}
const JOHN_KEY = fromBase32('ESNJWW66BKZSOFYYSP4QXPLT7SUEXMVSOEB5226LIVXT26Q7SV5A');
const HARRY_KEY = fromBase32('3MBUYD67773QQIUZNBBSPDB64IAZFIH3HB2NDSEZMR43TEQLNYYA');

describe('Authelia import (users_database.yml + the TOTP export)', () => {
  it('imports every user but the bad one in the middle (sha256-crypt, reported at its line)', async () => {
    const { summary, links } = await runImport(f, source(), { format: 'authelia' });
    expect(summary).toMatchObject({ imported: 4, updated: 0, skipped: 0, failed: 1 });
    expect(summary.errors).toHaveLength(1);
    expect(summary.errors[0]!.line).toBe(lineOf('  broken:'));
    expect(summary.errors[0]!.reason).toMatch(/^passwordHash: is not a supported hash/);
    expect(JSON.stringify(summary)).not.toContain('dKv1sonHG3');
    // mary has no TOTP: a link; olduser is disabled: none.
    expect(links.map((link) => link.username)).toEqual(['mary']);
    expect(await userNamed(f, 'olduser')).toMatchObject({ status: 'disabled' });
    const john = (await userNamed(f, 'john'))!;
    expect(john).toMatchObject({ display_name: 'John Doe', email: 'john.doe@authelia.com', email_verified_at: null });
    const groups = await f.deps.db.selectFrom('group_members').innerJoin('groups', 'groups.id', 'group_members.group_id').select('groups.name').where('user_id', '=', john.id).orderBy('groups.name').execute();
    expect(groups.map((row) => row.name)).toEqual(['admins', 'dev']);
  });

  it('re-importing changes nothing', async () => {
    const footprint = await importFootprint(f);
    const { summary } = await runImport(f, source(), { format: 'authelia' });
    expect(summary).toMatchObject({ imported: 0, skipped: 4, failed: 1 });
    expect(await importFootprint(f)).toEqual(footprint);
  });

  it('john (argon2id at Authelia’s defaults; TOTP SHA1) signs in with his password and his app’s codes, then holds our argon2id', async () => {
    const signedIn = await signInWithPasswordAndCode(f, 'john', 'John-Authelia-1', (now) => rfc6238(JOHN_KEY, now));
    expect(await storedPasswordHash(f, signedIn.user.id)).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('harry (sha512-crypt; TOTP SHA512, 8 digits, 60 s) signs in', async () => {
    const signedIn = await signInWithPasswordAndCode(f, 'harry', 'Harry-Authelia-22', (now) => rfc6238(HARRY_KEY, now, { algorithm: 'sha512', digits: 8, period: 60 }), 60);
    expect(signedIn.user.username).toBe('harry');
    expect(await storedPasswordHash(f, signedIn.user.id)).toMatch(/^\$argon2id\$/);
  });

  it('the three export forms (CSV, URI list, YAML) read the same secrets and parameters', () => {
    const read = (name: string) => Object.fromEntries(parseTotpExport(readFileSync(fixture(name), 'utf8')));
    const csv = read('authelia-totp.csv');
    expect(csv).toEqual({
      john: { secret: 'ESNJWW66BKZSOFYYSP4QXPLT7SUEXMVSOEB5226LIVXT26Q7SV5A', algorithm: 'SHA1', digits: 6, period: 30 },
      harry: { secret: '3MBUYD67773QQIUZNBBSPDB64IAZFIH3HB2NDSEZMR43TEQLNYYA', algorithm: 'SHA512', digits: 8, period: 60 },
    });
    expect(read('authelia-totp.uris')).toEqual(csv);
    expect(read('authelia-totp.yml')).toEqual(csv);
  });

  it('an export in no known form is refused rather than importing everyone without their app', async () => {
    const items = readAutheliaUsers(createReadStream(USERS), Readable.from(['username;secret\njohn;ABC\n']));
    await expect(runImport(f, items)).rejects.toThrow(/not one of Authelia's formats/);
  });
});
