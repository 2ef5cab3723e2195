import { hash as argon2Hash, parseOptions, verify as argon2Verify, type Algorithm, type Options } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { Kysely, Transaction } from 'kysely';
import type { Database, Factor } from '../db/schema.ts';
import { findActiveFactorOfKind } from './factors.ts';
import { LatchError } from '../errors.ts';
import { commonPasswords } from './common-passwords.ts';

type Executor = Kysely<Database> | Transaction<Database>;

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
 * at other parameters or variants, and scrypt (`$scrypt$ln=…,r=…,p=…$salt$hash`, base64).
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

async function verifyScrypt(storedHash: string, password: string): Promise<boolean> {
  const match = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(storedHash);
  if (!match) return false;
  const [, ln, r, p, saltText, hashText] = match;
  const expected = Buffer.from(hashText!, 'base64');
  const N = 2 ** Number(ln);
  const derived = await scrypt(password, Buffer.from(saltText!, 'base64'), expected.length, { N, r: Number(r), p: Number(p), maxmem: 256 * N * Number(r) + 1024 * 1024 });
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
