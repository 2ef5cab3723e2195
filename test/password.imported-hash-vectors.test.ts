import { hash as argon2Hash } from '@node-rs/argon2';
import { pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSupportedPasswordHash, sha512CryptHash, verifyPassword } from '../src/factors/password.ts';

const ab64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '').replace(/\+/g, '.');

/**
 * Issue 13: imported hashes verify against known vectors, computed independently of the verifier.
 * A verifier that always said "no" would lock every imported user out; one that said "yes" to a
 * wrong password would let anyone in — each case checks both.
 */
describe('legacy password hashes from other servers', () => {
  it('sha512-crypt: the glibc specification vectors (Drepper, SHA-crypt.txt)', async () => {
    expect(sha512CryptHash('Hello world!', 'saltstring', 5000)).toBe('svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1');
    const vectors: [string, string][] = [
      ['$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1', 'Hello world!'],
      ['$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.', 'Hello world!'],
      ['$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0', 'This is just a test'],
      ['$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1', 'a very much longer text to encrypt.  This one even stretches over morethan one line.'],
      ['$6$rounds=10$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.', 'the minimum number is still observed'],
    ];
    for (const [hash, password] of vectors) {
      expect(isSupportedPasswordHash(hash)).toBe(true);
      expect(await verifyPassword(hash, password)).toEqual({ valid: true, needsRehash: true });
      expect((await verifyPassword(hash, `${password}x`)).valid).toBe(false);
    }
  });

  it('PBKDF2 as Keycloak stores it: SHA1, SHA256 (256- and 512-bit keys), SHA512, and the passlib/Authelia form', async () => {
    const salt = Buffer.from('0123456789abcdef');
    const password = 'keycloak user pässword';
    const cases = [
      { prefix: '$pbkdf2$', digest: 'sha1', rounds: 20_000, keyBytes: 64 },
      { prefix: '$pbkdf2-sha256$', digest: 'sha256', rounds: 27_500, keyBytes: 64 },
      { prefix: '$pbkdf2-sha256$', digest: 'sha256', rounds: 600_000, keyBytes: 32 },
      { prefix: '$pbkdf2-sha512$', digest: 'sha512', rounds: 210_000, keyBytes: 64 },
      { prefix: '$pbkdf2-sha512$', digest: 'sha512', rounds: 1_000, keyBytes: 128 },
    ];
    for (const { prefix, digest, rounds, keyBytes } of cases) {
      const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, rounds, keyBytes, digest);
      for (const encode of [ab64, (bytes: Buffer) => bytes.toString('base64')]) {
        const stored = `${prefix}${rounds}$${encode(salt)}$${encode(key)}`;
        expect(isSupportedPasswordHash(stored)).toBe(true);
        expect(await verifyPassword(stored, password)).toEqual({ valid: true, needsRehash: true });
        expect((await verifyPassword(stored, 'keycloak user password')).valid).toBe(false);
      }
    }
    // A known vector (RFC 6070, PBKDF2-HMAC-SHA1 "password"/"salt", 4096 rounds, 20 bytes).
    const rfc6070 = `$pbkdf2$4096$${ab64(Buffer.from('salt'))}$${ab64(Buffer.from('4b007901b765489abead49d926f721d065a429c1', 'hex'))}`;
    expect((await verifyPassword(rfc6070, 'password')).valid).toBe(true);
  });

  it('argon2i and argon2id at other parameters verify and are marked for re-hashing', async () => {
    for (const algorithm of [1, 2] as const) {
      const stored = await argon2Hash('argon user', { algorithm, memoryCost: 7168, timeCost: 5, parallelism: 1 });
      expect(isSupportedPasswordHash(stored)).toBe(true);
      expect(await verifyPassword(stored, 'argon user')).toEqual({ valid: true, needsRehash: true });
    }
  });

  it('refuses hashes it cannot verify, and work factors that would make a sign-in a denial of service', () => {
    for (const hash of ['plain text', '$1$salt$hash', '{SSHA}abc', '$pbkdf2-sha256$99999999$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA', '$6$rounds=999999999$salt$' + 'a'.repeat(86), '$pbkdf2-md5$1000$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA']) {
      expect(isSupportedPasswordHash(hash)).toBe(false);
    }
  });
});
