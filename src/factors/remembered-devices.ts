import type { Kysely, Transaction } from 'kysely';
import { addSeconds } from '../clock.ts';
import { keyedHash, randomToken, type Keyring } from '../crypto/keyring.ts';
import type { Database, RememberedDevice } from '../db/schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

export const REMEMBER_DEVICE_SECONDS = 30 * 24 * 60 * 60;
const DEVICE_TOKEN_PURPOSE = 'remembered-device';

function hashDeviceToken(keyring: Keyring, token: string): string {
  return keyedHash(keyring, DEVICE_TOKEN_PURPOSE, token);
}

/** Remembers this browser for the user: a 256-bit token for its cookie; only the keyed hash is stored. */
export async function rememberDevice(db: Executor, keyring: Keyring, userId: string, userAgent: string | null, now: Date): Promise<{ device: RememberedDevice; token: string }> {
  const token = randomToken(32);
  const device = await db
    .insertInto('remembered_devices')
    .values({
      user_id: userId,
      token_hash: hashDeviceToken(keyring, token),
      user_agent: userAgent,
      created_at: now,
      last_used_at: null,
      expires_at: addSeconds(now, REMEMBER_DEVICE_SECONDS),
      revoked_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { device, token };
}

/** The live remembered device the token names, if it belongs to this user. */
export async function findRememberedDevice(db: Executor, keyring: Keyring, userId: string, token: string, now: Date): Promise<RememberedDevice | null> {
  const device = await db
    .selectFrom('remembered_devices')
    .selectAll()
    .where('token_hash', '=', hashDeviceToken(keyring, token))
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return device ?? null;
}

export async function touchRememberedDevice(db: Executor, deviceId: string, now: Date): Promise<void> {
  await db.updateTable('remembered_devices').set({ last_used_at: now }).where('id', '=', deviceId).execute();
}

export async function listRememberedDevices(db: Executor, userId: string, now: Date): Promise<RememberedDevice[]> {
  return db
    .selectFrom('remembered_devices')
    .selectAll()
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .execute();
}

/** Forgets one device, or all of the user's when `deviceId` is null. Returns the ids forgotten. */
export async function forgetRememberedDevices(db: Executor, userId: string, deviceId: string | null, now: Date): Promise<string[]> {
  let query = db
    .updateTable('remembered_devices')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (deviceId) query = query.where('id', '=', deviceId);
  const rows = await query.returning('id').execute();
  return rows.map((row) => row.id);
}

/** "Firefox on Linux" from a user agent: enough for a person to recognise the browser in a list. */
export function describeBrowser(userAgent: string | null): string {
  if (!userAgent) return 'Unknown browser';
  const browser =
    /Edg\//.test(userAgent) ? 'Edge'
    : /Firefox\//.test(userAgent) ? 'Firefox'
    : /Chrome\//.test(userAgent) ? 'Chrome'
    : /Safari\//.test(userAgent) ? 'Safari'
    : 'Browser';
  const os =
    /iPhone|iPad/.test(userAgent) ? 'iOS'
    : /Android/.test(userAgent) ? 'Android'
    : /Windows/.test(userAgent) ? 'Windows'
    : /Mac OS X/.test(userAgent) ? 'macOS'
    : /Linux/.test(userAgent) ? 'Linux'
    : null;
  return os ? `${browser} on ${os}` : browser;
}
