import { randomInt } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { keyedHash, type Keyring } from '../crypto/keyring.ts';
import type { Database, Factor } from '../db/schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

export const BACKUP_CODE_COUNT = 10;
/**
 * Digits 2–9 and lower-case letters without i, l and o: nothing to confuse with 0/O or 1/l/I when
 * read aloud or typed from paper. 31 symbols × 15 characters = 74 bits (NIST asks for 64).
 */
export const BACKUP_CODE_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';
const BACKUP_CODE_LENGTH = 15;
const GROUP_LENGTH = 5;
const BACKUP_CODE_PURPOSE = 'backup-code';

/** One code from the CSPRNG (randomInt draws without modulo bias), grouped as `xxxxx-xxxxx-xxxxx`. */
function generateBackupCode(): string {
  let code = '';
  for (let i = 0; i < BACKUP_CODE_LENGTH; i++) code += BACKUP_CODE_ALPHABET[randomInt(BACKUP_CODE_ALPHABET.length)];
  return code.match(new RegExp(`.{${GROUP_LENGTH}}`, 'g'))!.join('-');
}

/** What people type: any case, with or without spaces and dashes. Null when it cannot be a code. */
export function normalizeBackupCode(input: string): string | null {
  const normalized = input.toLowerCase().replace(/[\s\-_]/g, '');
  if (normalized.length !== BACKUP_CODE_LENGTH) return null;
  for (const char of normalized) if (!BACKUP_CODE_ALPHABET.includes(char)) return null;
  return normalized;
}

/** The keyed hash a code is stored and looked up by (the importer hashes existing codes with it). */
export function hashBackupCode(keyring: Keyring, normalizedCode: string): string {
  return keyedHash(keyring, BACKUP_CODE_PURPOSE, normalizedCode);
}

/**
 * Stores a new set: ten fresh codes as keyed hashes. The plaintext codes are returned once, for
 * the response, and kept nowhere. An active set must be revoked first (through revokeFactor, so
 * the sessions it opened end with it); the one-active-set index refuses a second.
 */
export async function insertBackupCodeSet(db: Executor, keyring: Keyring, userId: string, now: Date): Promise<{ factor: Factor; codes: string[] }> {
  const factor = (await db
    .insertInto('factors')
    .values({ user_id: userId, kind: 'backup_codes', label: null, status: 'active', created_at: now, activated_at: now } as never)
    .returningAll()
    .executeTakeFirstOrThrow()) as Factor;
  const codes = Array.from({ length: BACKUP_CODE_COUNT }, generateBackupCode);
  await db
    .insertInto('backup_codes')
    .values(codes.map((code) => ({ factor_id: factor.id, code_hash: hashBackupCode(keyring, normalizeBackupCode(code)!), used_at: null })))
    .execute();
  return { factor, codes };
}

/**
 * Spends one code of the user's active set. One conditional UPDATE decides: of two concurrent
 * requests with the same code exactly one sees `used_at is null`. Null when the code is wrong,
 * used, or the user has no active set.
 */
export async function redeemBackupCode(db: Executor, keyring: Keyring, userId: string, input: string, now: Date): Promise<{ factorId: string; remaining: number } | null> {
  const normalized = normalizeBackupCode(input);
  if (!normalized) return null;
  const used = await db
    .updateTable('backup_codes')
    .set({ used_at: now })
    .where('code_hash', '=', hashBackupCode(keyring, normalized))
    .where('used_at', 'is', null)
    .where('factor_id', 'in', (eb) =>
      eb.selectFrom('factors').select('id').where('user_id', '=', userId).where('kind', '=', 'backup_codes').where('status', '=', 'active'),
    )
    .returning('factor_id')
    .executeTakeFirst();
  if (!used) return null;
  await db.updateTable('factors').set({ last_used_at: now }).where('id', '=', used.factor_id).execute();
  return { factorId: used.factor_id, remaining: await countRemainingBackupCodes(db, used.factor_id) };
}

export async function countRemainingBackupCodes(db: Executor, factorId: string): Promise<number> {
  const row = await db
    .selectFrom('backup_codes')
    .select((eb) => eb.fn.countAll<number>().as('remaining'))
    .where('factor_id', '=', factorId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.remaining);
}
