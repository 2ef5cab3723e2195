import type { Kysely, Transaction } from 'kysely';
import type { Database, Factor } from '../db/schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/** The passkey columns of the factors table. Verification itself lives in src/webauthn/. */

export interface NewPasskey {
  credentialId: string;
  publicKey: Uint8Array;
  counter: number;
  transports: string[];
  aaguid: string;
  userVerified: boolean;
  backupEligible: boolean;
  backedUp: boolean;
  label: string | null;
  /** The session that added it (null at sign-up): it cannot step that session up. */
  boundSessionId?: string | null;
  /** Set at sign-up: creating the account with it signed the user in, so it has been used. */
  lastUsedAt?: Date | null;
}

/**
 * Inserts an active passkey, or returns null when the credential id is registered already — to
 * anyone, revoked ones included: a credential id names one key pair, and it has one owner forever.
 */
export async function insertPasskey(trx: Executor, userId: string, passkey: NewPasskey, now: Date): Promise<Factor | null> {
  const factor = await trx
    .insertInto('factors')
    .values({
      user_id: userId,
      kind: 'passkey',
      label: passkey.label,
      status: 'active',
      created_at: now,
      activated_at: now,
      credential_id: passkey.credentialId,
      public_key: passkey.publicKey,
      sign_count: passkey.counter,
      transports: passkey.transports,
      aaguid: passkey.aaguid,
      device_type: passkey.backupEligible ? 'multiDevice' : 'singleDevice',
      backup_eligible: passkey.backupEligible,
      backed_up: passkey.backedUp,
      user_verified: passkey.userVerified,
      bound_session_id: passkey.boundSessionId ?? null,
      last_used_at: passkey.lastUsedAt ?? null,
    })
    .onConflict((oc) => oc.column('credential_id').where('credential_id', 'is not', null).doNothing())
    .returningAll()
    .executeTakeFirst();
  return factor ?? null;
}

export async function isCredentialRegistered(db: Executor, credentialId: string): Promise<boolean> {
  const row = await db.selectFrom('factors').select('id').where('credential_id', '=', credentialId).executeTakeFirst();
  return row !== undefined;
}

/** The passkey with this credential id, whatever its status; locked, so concurrent uses of one passkey queue on its counter. */
export async function findPasskeyForUpdate(trx: Transaction<Database>, credentialId: string): Promise<Factor | null> {
  const factor = await trx
    .selectFrom('factors')
    .selectAll()
    .where('kind', '=', 'passkey')
    .where('credential_id', '=', credentialId)
    .forUpdate()
    .executeTakeFirst();
  return factor ?? null;
}

export async function listActivePasskeys(db: Executor, userId: string): Promise<Factor[]> {
  return db
    .selectFrom('factors')
    .selectAll()
    .where('user_id', '=', userId)
    .where('kind', '=', 'passkey')
    .where('status', '=', 'active')
    .orderBy('created_at', 'asc')
    .execute();
}

/** What allowCredentials / excludeCredentials name; transports sorted as browsers report them (rows stored before that was enforced too). */
export function credentialDescriptor(factor: Pick<Factor, 'credential_id' | 'transports'>) {
  return { id: factor.credential_id!, transports: [...(factor.transports ?? [])].sort() };
}

export function storedPublicKey(factor: Pick<Factor, 'public_key'>): Uint8Array<ArrayBuffer> {
  // pg returns a Buffer, PGlite a Uint8Array: hand SimpleWebAuthn a plain Uint8Array either way.
  return new Uint8Array(factor.public_key!);
}

/**
 * WebAuthn §6.1.1: when either counter is non-zero, the new one must be greater than the stored
 * one. Otherwise two copies of the private key may be in use — one of them not the user's.
 */
export function isSignCountSuspicious(storedCount: number, receivedCount: number): boolean {
  return (storedCount > 0 || receivedCount > 0) && receivedCount <= storedCount;
}

/** After a verified assertion: the new counter, the current backup state (BS may change; BE may not), last use. */
export async function recordPasskeyUse(trx: Executor, factorId: string, use: { counter: number; backedUp: boolean }, now: Date): Promise<void> {
  await passkeyUseUpdate(trx, factorId, use, now).execute();
}

/** The UPDATE recordPasskeyUse runs, for a caller that sends it with other writes (src/audit/deferred-writes.ts). */
export function passkeyUseUpdate(trx: Executor, factorId: string, use: { counter: number; backedUp: boolean }, now: Date) {
  return trx.updateTable('factors').set({ sign_count: use.counter, backed_up: use.backedUp, last_used_at: now }).where('id', '=', factorId);
}

/** Marks a passkey for the user's and admins' attention (the first reason is kept). */
export async function flagPasskey(trx: Executor, factorId: string, reason: string, now: Date): Promise<void> {
  await passkeyFlagUpdate(trx, factorId, reason, now).execute();
}

/** The UPDATE flagPasskey runs, for a caller that sends it with other writes (src/audit/deferred-writes.ts). */
export function passkeyFlagUpdate(trx: Executor, factorId: string, reason: string, now: Date) {
  return trx
    .updateTable('factors')
    .set((eb) => ({ flagged_at: eb.fn.coalesce('flagged_at', eb.val(now)), flagged_reason: eb.fn.coalesce('flagged_reason', eb.val(reason)) }))
    .where('id', '=', factorId);
}
