import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { ScureBase32Plugin, verify as verifyOtp } from 'otplib';
import { seal, unseal, type Keyring, type SealedSecret } from '../crypto/keyring.ts';
import type { Database, Factor } from '../db/schema.ts';
import { findActiveFactorOfKind } from './factors.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/** What every authenticator app understands; the otpauth URI spells it out anyway. */
export const TOTP_ALGORITHM = 'SHA1' as const;
export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_SECONDS = 30;
/** RFC 4226 §4: at least 128 bits; 160 is the HMAC-SHA1 block-friendly size authenticators expect. */
export const TOTP_SECRET_BYTES = 20;

const base32 = new ScureBase32Plugin();

export function generateTotpSecret(): Buffer {
  return randomBytes(TOTP_SECRET_BYTES);
}

/** Base32 without padding, as authenticator apps show and accept it. */
export function encodeTotpSecret(secret: Uint8Array): string {
  return base32.encode(secret).replace(/=+$/, '');
}

/**
 * The Key URI Format: `otpauth://totp/Issuer:account?secret=…&issuer=Issuer&algorithm=SHA1&digits=6&period=30`.
 * Built by hand because otplib leaves out parameters at their defaults, and some apps guess wrong
 * when they are missing.
 */
export function buildOtpauthUri(issuer: string, account: string, secret: Uint8Array, parameters: TotpParameters = defaultTotpParameters): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const query = [
    `secret=${encodeTotpSecret(secret)}`,
    `issuer=${encodeURIComponent(issuer)}`,
    `algorithm=${parameters.algorithm}`,
    `digits=${parameters.digits}`,
    `period=${parameters.periodSeconds}`,
  ].join('&');
  return `otpauth://totp/${label}?${query}`;
}

/** A PNG data URL of the URI, for the enrollment page to show. qrcode (about 10 MB of memory) is loaded with the first. */
export async function renderQrCode(otpauthUri: string): Promise<string> {
  const { default: QRCode } = await import('qrcode');
  return QRCode.toDataURL(otpauthUri, { errorCorrectionLevel: 'M', margin: 2, width: 240 });
}

/** A pending enrollment's secret in a ceremony, sealed to that enrollment. */
function sealPendingSecret(keyring: Keyring, secret: Uint8Array, enrollmentContext: string): SealedSecret {
  return seal(keyring, secret, `totp-pending:${enrollmentContext}`);
}

function unsealPendingSecret(keyring: Keyring, sealed: SealedSecret, enrollmentContext: string): Buffer {
  return unseal(keyring, sealed, `totp-pending:${enrollmentContext}`);
}

/** What a ceremony keeps of an authenticator app being set up until its first code proves it. */
export interface PendingTotpSecret {
  enrollmentId: string;
  secretSealed: string;
  keyId: string;
}

/** A new authenticator app's secret (shown once, to the user) and how its ceremony keeps it: sealed to a new enrollment. */
export function newPendingTotpSecret(keyring: Keyring): { secret: Buffer; pending: PendingTotpSecret } {
  const secret = generateTotpSecret();
  const enrollmentId = randomUUID();
  const sealed = sealPendingSecret(keyring, secret, enrollmentId);
  return { secret, pending: { enrollmentId, secretSealed: sealed.sealed, keyId: sealed.keyId } };
}

/**
 * The first code from the app being set up (sign-up, adding one, an enrollment link's fallback),
 * checked against the secret its ceremony keeps: the secret and the time step the code matched,
 * or a null step when it did not.
 */
export async function matchPendingTotpCode(keyring: Keyring, pending: PendingTotpSecret, code: string, now: Date): Promise<{ secret: Buffer; step: number | null }> {
  const secret = unsealPendingSecret(keyring, { sealed: pending.secretSealed, keyId: pending.keyId }, pending.enrollmentId);
  return { secret, step: await matchTotpCode(secret, code, now, defaultTotpParameters, null) };
}

/** The sealing context of an active TOTP secret: copied to another user's row, it does not open. */
function factorSecretContext(userId: string): string {
  return `totp:${userId}`;
}

/** Seals an active authenticator's secret to its user, as useTotpCode opens it (the importer writes rows in bulk with it). */
export function sealTotpSecret(keyring: Keyring, userId: string, secret: Uint8Array): SealedSecret {
  return seal(keyring, secret, factorSecretContext(userId));
}

export interface TotpParameters {
  algorithm: 'SHA1' | 'SHA256' | 'SHA512';
  digits: number;
  periodSeconds: number;
}

export const defaultTotpParameters: TotpParameters = { algorithm: TOTP_ALGORITHM, digits: TOTP_DIGITS, periodSeconds: TOTP_PERIOD_SECONDS };

export function timeStepAt(now: Date, periodSeconds: number): number {
  return Math.floor(now.getTime() / 1000 / periodSeconds);
}

/**
 * Checks a code against the server's clock only, one time step either side (RFC 6238 §5.2), and
 * never a step at or before `afterStep` (the last one accepted). Returns the matched step or null.
 */
export async function matchTotpCode(secret: Uint8Array, code: string, now: Date, parameters: TotpParameters, afterStep: number | null): Promise<number | null> {
  if (!new RegExp(`^\\d{${parameters.digits}}$`).test(code)) return null;
  const currentStep = timeStepAt(now, parameters.periodSeconds);
  // Every code in the window is at or before the last accepted step: nothing can match.
  if (afterStep !== null && afterStep >= currentStep + 1) return null;
  const result = await verifyOtp({
    secret,
    token: code,
    algorithm: parameters.algorithm.toLowerCase() as 'sha1' | 'sha256' | 'sha512',
    digits: parameters.digits,
    period: parameters.periodSeconds,
    epoch: Math.floor(now.getTime() / 1000),
    // A tolerance of one period reaches exactly the neighbouring steps.
    epochTolerance: parameters.periodSeconds,
    ...(afterStep !== null && afterStep >= 0 ? { afterTimeStep: afterStep } : {}),
  });
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}

export function findActiveTotp(db: Executor, userId: string): Promise<Factor | null> {
  return findActiveFactorOfKind(db, userId, 'totp');
}

export interface NewTotpFactor {
  secret: Uint8Array;
  /** What the authenticator computes with: an imported one keeps its own (SHA256, 8 digits, 60 s …). */
  parameters: TotpParameters;
  /** The step of the code that confirmed it (already spent), or null for an imported secret. */
  acceptedStep: number | null;
  label: string | null;
  /** The session that added it (null at sign-up or import): it cannot step that session up. */
  boundSessionId: string | null;
}

/** Stores a confirmed authenticator: the secret sealed to the user, with the parameters it computes with. */
export async function insertTotpFactor(db: Executor, keyring: Keyring, userId: string, totp: NewTotpFactor, now: Date): Promise<Factor> {
  const { secret, parameters, acceptedStep, label } = totp;
  const sealed = sealTotpSecret(keyring, userId, secret);
  const factor = await db
    .insertInto('factors')
    .values({
      user_id: userId,
      kind: 'totp',
      label,
      status: 'active',
      created_at: now,
      activated_at: now,
      last_used_at: acceptedStep === null ? null : now,
      secret_sealed: sealed.sealed,
      key_id: sealed.keyId,
      algorithm: parameters.algorithm,
      digits: parameters.digits,
      period_seconds: parameters.periodSeconds,
      last_used_step: acceptedStep,
      bound_session_id: totp.boundSessionId,
    } as never)
    .returningAll()
    .executeTakeFirstOrThrow();
  return factor as Factor;
}

/**
 * Verifies a code for the user's active authenticator and spends its time step. The conditional
 * UPDATE is the replay guard: of two requests with the same code, exactly one moves
 * `last_used_step` forward; the other matches no row and fails.
 */
export async function useTotpCode(db: Executor, keyring: Keyring, factor: Factor, code: string, now: Date): Promise<boolean> {
  if (factor.kind !== 'totp' || !factor.secret_sealed || !factor.key_id) return false;
  const secret = unseal(keyring, { sealed: factor.secret_sealed, keyId: factor.key_id }, factorSecretContext(factor.user_id));
  const lastStep = factor.last_used_step === null ? null : Number(factor.last_used_step);
  const step = await matchTotpCode(
    secret,
    code,
    now,
    { algorithm: factor.algorithm ?? TOTP_ALGORITHM, digits: factor.digits ?? TOTP_DIGITS, periodSeconds: factor.period_seconds ?? TOTP_PERIOD_SECONDS },
    lastStep,
  );
  if (step === null) return false;
  const spent = await db
    .updateTable('factors')
    .set({ last_used_step: step, last_used_at: now })
    .where('id', '=', factor.id)
    .where('status', '=', 'active')
    .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
    .returning('id')
    .executeTakeFirst();
  return spent !== undefined;
}
