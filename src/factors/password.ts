import { hash as argon2Hash, parseOptions, verify as argon2Verify, type Algorithm, type Options } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { createHash, pbkdf2 as pbkdf2Callback, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { Kysely, Transaction } from 'kysely';
import type { Database, Factor } from '../db/schema.ts';
import { findActiveFactorOfKind } from './factors.ts';
import { LatchError } from '../errors.ts';
import { commonPasswords } from './common-passwords.ts';

type Executor = Kysely<Database> | Transaction<Database>;

const pbkdf2 = promisify(pbkdf2Callback);

const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

export const PASSWORD_MIN_LENGTH = 8;
/** Long passphrases are welcome; the ceiling only keeps a request from hashing a megabyte. */
export const PASSWORD_MAX_LENGTH = 256;

/** argon2id at the OWASP baseline (19 MiB, 2 passes, 1 lane) — never lower, in tests neither. */
const ARGON2ID = 2 as Algorithm;
const ARGON2_OPTIONS: Options = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** Unicode passwords compare as the user meant them (NIST 800-63B: normalise before hashing). */
function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/**
 * The password rules: length by code points (8–256), not a well-known password, not the
 * username. Throws `weak_password` with the reason the client can show.
 */
export function assertAcceptablePassword(password: string, username?: string): void {
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  if (length < PASSWORD_MIN_LENGTH) throw new LatchError('weak_password', `Use at least ${PASSWORD_MIN_LENGTH} characters.`, { reason: 'too_short' });
  if (length > PASSWORD_MAX_LENGTH) throw new LatchError('weak_password', `Use at most ${PASSWORD_MAX_LENGTH} characters.`, { reason: 'too_long' });
  const lowered = normalized.toLowerCase();
  if (commonPasswords.has(lowered)) throw new LatchError('weak_password', 'That password is one of the most common ones; choose another.', { reason: 'common' });
  if (username && lowered === username.toLowerCase()) throw new LatchError('weak_password', 'Your password must not be your username.', { reason: 'username' });
}

export async function hashPassword(password: string): Promise<string> {
  return argon2Hash(normalizePassword(password), ARGON2_OPTIONS);
}

export interface PasswordCheck {
  valid: boolean;
  /** The stored hash is not our argon2id at our parameters: re-hash after the sign-in succeeds. */
  needsRehash: boolean;
}

/**
 * Verifies against our argon2id hashes and imported legacy ones: bcrypt ($2a$/$2b$/$2y$), argon2
 * at other parameters or variants (argon2i, argon2d), scrypt (`$scrypt$ln=…,r=…,p=…$salt$hash`),
 * PBKDF2 in the passlib / Authelia form (`$pbkdf2[-sha256|-sha512]$rounds$salt$hash`; Keycloak's
 * credentials are written in this form on import) and sha512-crypt (`$6$[rounds=N$]salt$hash`).
 * An unknown format is a failed check, never a crash.
 */
export async function verifyPassword(storedHash: string, password: string): Promise<PasswordCheck> {
  try {
    if (storedHash.startsWith('$argon2')) {
      const valid = await argon2Verify(storedHash, normalizePassword(password));
      return { valid, needsRehash: valid && !hasCurrentArgon2Parameters(storedHash) };
    }
    if (/^\$2[aby]\$\d\d\$/.test(storedHash)) {
      // Legacy systems hashed the password as typed: no normalisation here.
      const valid = await bcrypt.compare(password, storedHash);
      return { valid, needsRehash: valid };
    }
    if (storedHash.startsWith('$scrypt$')) {
      const valid = await verifyScrypt(storedHash, password);
      return { valid, needsRehash: valid };
    }
    if (storedHash.startsWith('$pbkdf2')) {
      const valid = await verifyPbkdf2(storedHash, password);
      return { valid, needsRehash: valid };
    }
    if (storedHash.startsWith('$6$')) {
      const valid = verifySha512Crypt(storedHash, password);
      return { valid, needsRehash: valid };
    }
  } catch {
    // A malformed imported hash: treat as a mismatch.
  }
  return { valid: false, needsRehash: false };
}

function hasCurrentArgon2Parameters(storedHash: string): boolean {
  const parsed = parseOptions(storedHash);
  return (
    storedHash.startsWith('$argon2id$') &&
    parsed.memoryCost >= ARGON2_OPTIONS.memoryCost! &&
    parsed.timeCost >= ARGON2_OPTIONS.timeCost! &&
    parsed.parallelism === ARGON2_OPTIONS.parallelism
  );
}

/** Legacy work factors above these are refused: an imported hash must not make a sign-in a denial of service. */
const MAX_PBKDF2_ROUNDS = 10_000_000;
const MAX_SHA_CRYPT_ROUNDS = 10_000_000;

const SCRYPT_PATTERN = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/.=]+)\$([A-Za-z0-9+/.=]+)$/;
/** passlib's and Authelia's (go-crypt) PBKDF2 form; salt and hash in "adapted base64" ('.' for '+', no padding). */
const PBKDF2_PATTERN = /^\$pbkdf2(-sha256|-sha512)?\$(\d{1,8})\$([A-Za-z0-9+/.=]+)\$([A-Za-z0-9+/.=]{16,})$/;
const SHA512_CRYPT_PATTERN = /^\$6\$(?:rounds=(\d{1,9})\$)?([^$:\n]{0,16})\$([./0-9A-Za-z]{86})$/;

/** Whether verifyPassword understands the hash: the importer refuses others rather than store a password nobody can use. */
export function isSupportedPasswordHash(storedHash: string): boolean {
  if (/^\$argon2(id|i|d)\$(v=\d+\$)?m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.test(storedHash)) return true;
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(storedHash)) return true;
  if (SCRYPT_PATTERN.test(storedHash)) return true;
  const pbkdf2Match = PBKDF2_PATTERN.exec(storedHash);
  if (pbkdf2Match) return Number(pbkdf2Match[2]) >= 1 && Number(pbkdf2Match[2]) <= MAX_PBKDF2_ROUNDS;
  const shaCryptMatch = SHA512_CRYPT_PATTERN.exec(storedHash);
  if (shaCryptMatch) return shaCryptMatch[1] === undefined || Number(shaCryptMatch[1]) <= MAX_SHA_CRYPT_ROUNDS;
  return false;
}

/** Standard or adapted base64 ('.' for '+'), padded or not. */
function decodeBase64Loose(text: string): Buffer {
  return Buffer.from(text.replace(/\./g, '+'), 'base64');
}

async function verifyScrypt(storedHash: string, password: string): Promise<boolean> {
  const match = SCRYPT_PATTERN.exec(storedHash);
  if (!match) return false;
  const [, ln, r, p, saltText, hashText] = match;
  const expected = decodeBase64Loose(hashText!);
  const N = 2 ** Number(ln);
  const derived = await scrypt(password, decodeBase64Loose(saltText!), expected.length, { N, r: Number(r), p: Number(p), maxmem: 256 * N * Number(r) + 1024 * 1024 });
  return derived.length === expected.length && timingSafeEqual(derived, expected);
}

/**
 * PBKDF2-HMAC with the key length of the stored hash, as Keycloak verifies its own credentials
 * (Pbkdf2PasswordHashProvider.keySize: the stored value's length, 256 or 512 bits by variant and
 * version). The password as typed, UTF-8 (Java's PBEKeySpec over SunJCE and go-crypt alike).
 */
async function verifyPbkdf2(storedHash: string, password: string): Promise<boolean> {
  const match = PBKDF2_PATTERN.exec(storedHash);
  if (!match) return false;
  const [, variant, roundsText, saltText, hashText] = match;
  const rounds = Number(roundsText);
  if (rounds < 1 || rounds > MAX_PBKDF2_ROUNDS) return false;
  const expected = decodeBase64Loose(hashText!);
  const digest = variant === '-sha256' ? 'sha256' : variant === '-sha512' ? 'sha512' : 'sha1';
  const derived = await pbkdf2(password, decodeBase64Loose(saltText!), rounds, expected.length, digest);
  return derived.length === expected.length && timingSafeEqual(derived, expected);
}

const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** The byte order of sha512-crypt's final encoding (Drepper, "Unix crypt using SHA-256 and SHA-512", step 22). */
const SHA512_CRYPT_ORDER = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48], [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10],
  [53, 11, 32], [12, 33, 54], [34, 55, 13], [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
] as const;

function repeatTo(block: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += block.length) block.copy(out, i, 0, Math.min(block.length, length - i));
  return out;
}

/**
 * sha512-crypt as glibc and Authelia compute it (https://www.akkadia.org/drepper/SHA-crypt.txt):
 * node:crypto has no crypt(3), and no library for it is installed. Returns the 86-character hash part.
 */
export function sha512CryptHash(password: string, salt: string, rounds: number): string {
  const sha512 = (...parts: Buffer[]) => {
    const hash = createHash('sha512');
    for (const part of parts) hash.update(part);
    return hash.digest();
  };
  const P = Buffer.from(password, 'utf8');
  const S = Buffer.from(salt.slice(0, 16), 'utf8');
  const B = sha512(P, S, P);
  const a = createHash('sha512').update(P).update(S).update(repeatTo(B, P.length));
  for (let n = P.length; n > 0; n >>= 1) a.update(n & 1 ? B : P);
  const A = a.digest();
  const pBytes = repeatTo(sha512(...Array<Buffer>(P.length).fill(P)), P.length);
  const sBytes = repeatTo(sha512(...Array<Buffer>(16 + A[0]!).fill(S)), S.length);
  let C = A;
  for (let i = 0; i < rounds; i++) {
    const c = createHash('sha512');
    c.update(i & 1 ? pBytes : C);
    if (i % 3 !== 0) c.update(sBytes);
    if (i % 7 !== 0) c.update(pBytes);
    c.update(i & 1 ? C : pBytes);
    C = c.digest();
  }
  let out = '';
  const encode = (b2: number, b1: number, b0: number, n: number) => {
    let w = (b2 << 16) | (b1 << 8) | b0;
    for (let i = 0; i < n; i++, w >>= 6) out += CRYPT_ALPHABET[w & 0x3f];
  };
  for (const [x, y, z] of SHA512_CRYPT_ORDER) encode(C[x]!, C[y]!, C[z]!, 4);
  encode(0, 0, C[63]!, 2);
  return out;
}

function verifySha512Crypt(storedHash: string, password: string): boolean {
  const match = SHA512_CRYPT_PATTERN.exec(storedHash);
  if (!match) return false;
  const [, roundsText, salt, hash] = match;
  // The spec clamps rounds to 1000…999,999,999; we refuse the top of that range (see MAX_SHA_CRYPT_ROUNDS).
  const rounds = roundsText === undefined ? 5000 : Math.max(1000, Number(roundsText));
  if (rounds > MAX_SHA_CRYPT_ROUNDS) return false;
  const derived = Buffer.from(sha512CryptHash(password, salt!, rounds));
  const expected = Buffer.from(hash!);
  return derived.length === expected.length && timingSafeEqual(derived, expected);
}

let dummyHash: Promise<string> | null = null;

/** Makes the dummy hash ahead of the first sign-in, so not even the first unknown username answers slower. */
export function prepareDummyPassword(): Promise<string> {
  dummyHash ??= hashPassword('latch-dummy-password-for-timing').catch((error: unknown) => {
    dummyHash = null; // try again next time rather than fail every unknown username forever
    throw error;
  });
  return dummyHash;
}

/**
 * Spends the same work as a real check when the user does not exist (or has no password), so the
 * response time does not tell an attacker which usernames are real.
 */
export async function verifyDummyPassword(password: string): Promise<void> {
  await argon2Verify(await prepareDummyPassword(), normalizePassword(password));
}

export function findActivePassword(db: Executor, userId: string): Promise<Factor | null> {
  return findActiveFactorOfKind(db, userId, 'password');
}

/**
 * Sets the user's password: replaces the hash on the active password row (its id, and so the
 * sessions it made, stay stable), or creates the row. Returns the factor and whether it was new.
 */
export async function storePasswordHash(db: Executor, userId: string, passwordHash: string, now: Date): Promise<{ factor: Factor; created: boolean }> {
  const updated = await db
    .updateTable('factors')
    .set({ password_hash: passwordHash })
    .where('user_id', '=', userId)
    .where('kind', '=', 'password')
    .where('status', '=', 'active')
    .returningAll()
    .executeTakeFirst();
  if (updated) return { factor: updated, created: false };
  const factor = await db
    .insertInto('factors')
    .values({ user_id: userId, kind: 'password', label: null, status: 'active', created_at: now, activated_at: now, password_hash: passwordHash } as never)
    .returningAll()
    .executeTakeFirstOrThrow();
  return { factor: factor as Factor, created: true };
}
