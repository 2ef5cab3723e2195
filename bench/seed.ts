import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createHmac } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { sql } from 'kysely';
import type pg from 'pg';
import { seal, type Keyring } from '../src/crypto/keyring.ts';
import type { Db } from '../src/db/database.ts';
import { writeCheckpoints } from '../src/audit/checkpoints.ts';

/**
 * Seeded users, written straight into the database (one multi-row INSERT per batch; the sign-up
 * flow would take minutes for a thousand), each with a software P-256 passkey whose counter grows
 * by one per assertion — as test/helpers/soft-authenticator.ts does, reduced to the assertion.
 */

export interface BenchPasskey {
  credentialId: string;
  privateKey: KeyObject;
  publicKeyCose: Uint8Array;
  /** base64url WebAuthn user handle. */
  userHandle: string;
  counter: number;
}

export interface BenchUser {
  username: string;
  passkey: BenchPasskey;
}

export interface TotpUser {
  username: string;
  secret: Buffer;
  /** The last time step this user's code was spent (a code is good once per step). */
  lastStep: number;
}

export const BENCH_PASSWORD = 'correct horse battery staple bench';

export function makePasskey(): BenchPasskey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const cose = isoCBOR.encode(
    new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
      [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
    ]),
  );
  return { credentialId: randomBytes(16).toString('base64url'), privateKey, publicKeyCose: cose, userHandle: randomBytes(32).toString('base64url'), counter: 0 };
}

/** A real assertion, as a browser hands it over: UP and UV set, the counter one higher than last time. */
export function assert(passkey: BenchPasskey, challenge: string, origin: string, rpId: string) {
  const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge, origin, crossOrigin: false }));
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(++passkey.counter);
  const authenticatorData = Buffer.concat([createHash('sha256').update(rpId).digest(), Buffer.from([0x05]), counter]);
  const signature = sign('sha256', Buffer.concat([authenticatorData, createHash('sha256').update(clientDataJSON).digest()]), passkey.privateKey);
  return {
    id: passkey.credentialId,
    rawId: passkey.credentialId,
    type: 'public-key',
    clientExtensionResults: {},
    response: {
      clientDataJSON: clientDataJSON.toString('base64url'),
      authenticatorData: authenticatorData.toString('base64url'),
      signature: signature.toString('base64url'),
      userHandle: passkey.userHandle,
    },
  };
}

export function totpCode(secret: Buffer, step: number): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(step));
  const digest = createHmac('sha1', secret).update(message).digest();
  const offset = digest[digest.length - 1]! & 0x0f;
  const binary = ((digest[offset]! & 0x7f) << 24) | (digest[offset + 1]! << 16) | (digest[offset + 2]! << 8) | digest[offset + 3]!;
  return String(binary % 1_000_000).padStart(6, '0');
}

const BATCH = 500;

/** `count` users with one active passkey each. */
export async function seedPasskeyUsers(db: Db, count: number, prefix: string): Promise<BenchUser[]> {
  const users: BenchUser[] = Array.from({ length: count }, (_, i) => ({ username: `${prefix}-${i}`, passkey: makePasskey() }));
  const now = new Date();
  for (let start = 0; start < users.length; start += BATCH) {
    const batch = users.slice(start, start + BATCH);
    const rows = await db
      .insertInto('users')
      .values(batch.map((user) => ({ username: user.username, display_name: user.username, webauthn_user_id: user.passkey.userHandle, status: 'active' as const, created_at: now, updated_at: now, disabled_at: null })))
      .returning(['id', 'username'])
      .execute();
    const idOf = new Map(rows.map((row) => [row.username, row.id]));
    await db
      .insertInto('factors')
      .values(
        batch.map(
          (user) =>
            ({
              user_id: idOf.get(user.username)!,
              kind: 'passkey',
              label: 'bench',
              status: 'active',
              created_at: now,
              activated_at: now,
              credential_id: user.passkey.credentialId,
              public_key: Buffer.from(user.passkey.publicKeyCose),
              sign_count: 0,
              transports: ['internal'],
              device_type: 'singleDevice',
              backup_eligible: false,
              backed_up: false,
              user_verified: true,
            }) as never,
        ),
      )
      .execute();
  }
  return users;
}

/**
 * `count` users with a password and an authenticator app. They share one argon2id hash (hashing a
 * thousand passwords would take minutes; the sign-in verifies it just the same) but each has its
 * own TOTP secret, sealed to the user as src/factors/totp.ts seals it.
 */
export async function seedTotpUsers(db: Db, keyring: Keyring, count: number, prefix: string, passwordHash: string): Promise<TotpUser[]> {
  const users: TotpUser[] = Array.from({ length: count }, (_, i) => ({ username: `${prefix}-${i}`, secret: randomBytes(20), lastStep: 0 }));
  const now = new Date();
  for (let start = 0; start < users.length; start += BATCH) {
    const batch = users.slice(start, start + BATCH);
    const rows = await db
      .insertInto('users')
      .values(batch.map((user) => ({ username: user.username, display_name: user.username, webauthn_user_id: randomBytes(32).toString('base64url'), status: 'active' as const, created_at: now, updated_at: now, disabled_at: null })))
      .returning(['id', 'username'])
      .execute();
    const idOf = new Map(rows.map((row) => [row.username, row.id]));
    await db
      .insertInto('factors')
      .values(
        batch.flatMap((user) => {
          const userId = idOf.get(user.username)!;
          const sealed = seal(keyring, user.secret, `totp:${userId}`); // factorSecretContext in src/factors/totp.ts
          return [
            { user_id: userId, kind: 'password', label: null, status: 'active', created_at: now, activated_at: now, password_hash: passwordHash },
            { user_id: userId, kind: 'totp', label: 'bench', status: 'active', created_at: now, activated_at: now, secret_sealed: sealed.sealed, key_id: sealed.keyId, algorithm: 'SHA1', digits: 6, period_seconds: 30, last_used_step: null },
          ] as never[];
        }),
      )
      .execute();
  }
  return users;
}

/** The reference's tables (made by its server at start): users and credentials. */
export async function seedReference(client: pg.Client, users: BenchUser[]): Promise<BenchUser[]> {
  await client.query('TRUNCATE ref_credentials, ref_users, ref_sessions, ref_challenges, ref_audit');
  const own = users.map((user) => ({ ...user, passkey: { ...user.passkey, counter: 0 } }));
  for (let start = 0; start < own.length; start += BATCH) {
    const batch = own.slice(start, start + BATCH);
    await client.query('INSERT INTO ref_users (id, username) SELECT * FROM unnest($1::int[], $2::text[])', [batch.map((_, i) => start + i + 1), batch.map((user) => user.username)]);
    await client.query('INSERT INTO ref_credentials (id, user_id, public_key) SELECT * FROM unnest($1::text[], $2::int[], $3::bytea[])', [
      batch.map((user) => user.passkey.credentialId),
      batch.map((_, i) => start + i + 1),
      batch.map((user) => Buffer.from(user.passkey.publicKeyCose)),
    ]);
  }
  return own;
}

/**
 * The scale run's data (PostgreSQL only): users (each with a passkey nobody holds) up to
 * `totalUsers`, and `auditRows` audit events, made by generate_series inside the database.
 */
/**
 * The scale data set. Its audit rows are checkpointed here too (src/audit/checkpoints.ts), as on a
 * server that has been running: otherwise the measured server would spend the run catching up a
 * 10,000,000-row checkpoint backlog in the background (the first scale run did, and its figures
 * measured that, not the size).
 */
export async function seedScale(db: Db, keyring: Keyring, totalUsers: number, auditRows: number): Promise<void> {
  const existing = Number((await sql<{ n: string }>`select count(*) as n from users`.execute(db)).rows[0]!.n);
  const more = Math.max(0, totalUsers - existing);
  await sql`
    insert into users (username, display_name, webauthn_user_id, status, created_at, updated_at)
    select 'scale-' || i, 'Scale ' || i, encode(sha256(('scale-' || i)::bytea), 'base64'), 'active', now(), now()
    from generate_series(1, ${more}::int) as i`.execute(db);
  await sql`
    insert into factors (user_id, kind, label, status, created_at, activated_at, credential_id, public_key, sign_count, transports, device_type, backup_eligible, backed_up, user_verified)
    select id, 'passkey', 'scale', 'active', now(), now(), 'scale-' || username, '\\x00'::bytea, 0, array['internal'], 'singleDevice', false, false, true
    from users where username like 'scale-%'`.execute(db);
  // Audit rows spread over the last year, a tenth of them about the seeded users.
  await sql`
    insert into audit_events (occurred_at, actor_user_id, subject_user_id, action, outcome, client_address, user_agent, details)
    select now() - (i || ' seconds')::interval, null, null, 'session.create', 'success', '10.0.0.1', 'bench', '{}'::jsonb
    from generate_series(1, ${auditRows}::int) as i`.execute(db);
  await writeCheckpoints({ db, keyring }, () => new Date());
  // VACUUM as well as ANALYZE: 10,000,000 fresh rows pass autovacuum's insert threshold, and its
  // vacuum of them, running during the measured rounds, was the likely cause of a scale run's
  // last scenario coming out a quarter slower.
  await sql`vacuum analyze`.execute(db);
}
