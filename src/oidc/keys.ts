import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { addSeconds } from '../clock.ts';
import { seal, unseal, type Keyring } from '../crypto/keyring.ts';
import type { Database } from '../db/schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

export type SigningAlg = 'ES256' | 'RS256';
export const SIGNING_ALGS: readonly SigningAlg[] = ['ES256', 'RS256'];

/**
 * The longest a token signed by a key can still be presented: ID tokens (1 hour) are the only
 * JWTs the provider signs with a lifetime (access tokens are opaque, logout tokens are short).
 * A replaced key stays in the JWKS this long after its successor starts signing.
 */
export const KEY_RETIREMENT_SECONDS = 60 * 60 + 5 * 60;

const sealContext = (kid: string) => `oidc-signing-key:${kid}`;

/** A new signing key: the public half as a JWK, the private half sealed with the keyring. */
export async function addSigningKey(db: Executor, keyring: Keyring, alg: SigningAlg, now: Date): Promise<{ kid: string; alg: SigningAlg }> {
  const pair = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomUUID();
  const privateJwk = { ...pair.privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
  const publicJwk = { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
  const sealed = seal(keyring, Buffer.from(JSON.stringify(privateJwk), 'utf8'), sealContext(kid));
  await db
    .insertInto('oidc_signing_keys')
    .values({ kid, alg, public_jwk: publicJwk, private_sealed: sealed.sealed, key_id: sealed.keyId, created_at: now, retire_after: null })
    .execute();
  return { kid, alg };
}

/**
 * `latch oidc rotate-keys`: a new current key of `alg`; the keys it replaces keep verifying until
 * every token they signed has expired (`retire_after`), then leave the JWKS.
 */
export async function rotateSigningKeys(db: Kysely<Database>, keyring: Keyring, alg: SigningAlg, now: Date): Promise<{ kid: string; retiredKids: string[]; retireAfter: Date }> {
  const retireAfter = addSeconds(now, KEY_RETIREMENT_SECONDS);
  return db.transaction().execute(async (trx) => {
    const retired = await trx
      .updateTable('oidc_signing_keys')
      .set({ retire_after: retireAfter })
      .where('alg', '=', alg)
      .where('retire_after', 'is', null)
      .returning('kid')
      .execute();
    const { kid } = await addSigningKey(trx, keyring, alg, now);
    return { kid, retiredKids: retired.map((row) => row.kid), retireAfter };
  });
}

/** One current key per algorithm, made on first start (ES256 signs by default; RS256 for clients that ask). */
export async function ensureSigningKeys(db: Kysely<Database>, keyring: Keyring, now: Date): Promise<void> {
  const current = await db.selectFrom('oidc_signing_keys').select('alg').where('retire_after', 'is', null).execute();
  for (const alg of SIGNING_ALGS) {
    if (!current.some((row) => row.alg === alg)) await addSigningKey(db, keyring, alg, now);
  }
}

/** What tells an instance its keys changed (another instance or the CLI rotated them): cheap, read per request. */
export async function signingKeysVersion(db: Executor, now: Date): Promise<string> {
  const rows = await db.selectFrom('oidc_signing_keys').select(['kid', 'retire_after']).orderBy('kid').execute();
  return rows.map((row) => `${row.kid}:${row.retire_after === null ? 'current' : row.retire_after <= now ? 'gone' : 'retiring'}`).join(',');
}

/**
 * The private JWKs the provider signs and publishes with: current keys first, newest first (the
 * provider signs with the first key of an algorithm), then those still retiring.
 */
export async function loadSigningKeys(db: Executor, keyring: Keyring, now: Date): Promise<Array<Record<string, unknown>>> {
  const rows = await db
    .selectFrom('oidc_signing_keys')
    .selectAll()
    .where((eb) => eb.or([eb('retire_after', 'is', null), eb('retire_after', '>', now)]))
    .execute();
  rows.sort((a, b) => Number(a.retire_after !== null) - Number(b.retire_after !== null) || b.created_at.getTime() - a.created_at.getTime());
  return rows.map((row) => JSON.parse(unseal(keyring, { sealed: row.private_sealed, keyId: row.key_id }, sealContext(row.kid)).toString('utf8')) as Record<string, unknown>);
}

export async function listSigningKeys(db: Executor) {
  return db.selectFrom('oidc_signing_keys').select(['kid', 'alg', 'created_at', 'retire_after']).orderBy('created_at', 'desc').execute();
}
