import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The server's secret material: AES-256-GCM keys by id (the active one seals, every one unseals,
 * so a new key can be added without re-encrypting) and one HMAC key for keyed hashes.
 */
export interface Keyring {
  encryptionKeys: ReadonlyMap<string, Buffer>;
  activeKeyId: string;
  hmacKey: Buffer;
}

export interface SealedSecret {
  /** `v1.<iv>.<ciphertext+tag>`, base64url parts. */
  sealed: string;
  keyId: string;
}

const SEAL_VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Encrypts with the active key. `context` is bound as additional authenticated data, so a sealed
 * value copied onto another row (another user, another factor) fails to open there.
 */
export function seal(keyring: Keyring, plaintext: Uint8Array, context: string): SealedSecret {
  const key = keyring.encryptionKeys.get(keyring.activeKeyId);
  if (!key) throw new Error('active encryption key is missing from the keyring');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return {
    sealed: `${SEAL_VERSION}.${iv.toString('base64url')}.${ciphertext.toString('base64url')}`,
    keyId: keyring.activeKeyId,
  };
}

export class UnsealError extends Error {
  constructor(reason: string) {
    super(`cannot unseal secret: ${reason}`);
    this.name = 'UnsealError';
  }
}

export function unseal(keyring: Keyring, secret: SealedSecret, context: string): Buffer {
  const key = keyring.encryptionKeys.get(secret.keyId);
  if (!key) throw new UnsealError(`no key with id ${secret.keyId}`);
  const [version, ivText, bodyText] = secret.sealed.split('.');
  if (version !== SEAL_VERSION || !ivText || !bodyText) throw new UnsealError('unknown format');
  const body = Buffer.from(bodyText, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new UnsealError('authentication failed');
  }
}

/** HMAC-SHA256 under the server key, hex. For tokens and codes we must recognise but never store. */
export function keyedHash(keyring: Keyring, purpose: string, value: string): string {
  return createHmac('sha256', keyring.hmacKey).update(`${purpose}\0${value}`).digest('hex');
}

/** A 256-bit random token, base64url. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function generateKeyring(): Keyring {
  return { encryptionKeys: new Map([['k1', randomBytes(32)]]), activeKeyId: 'k1', hmacKey: randomBytes(32) };
}
