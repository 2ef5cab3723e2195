import { keyedHash, type Keyring } from '../crypto/keyring.ts';

const DECOY_PURPOSE = 'passkey-decoy-credential';
/** Lengths real authenticators use (platform providers 16–20 bytes, security keys often more). */
const CREDENTIAL_ID_BYTES = [16, 20, 32] as const;
const TRANSPORT_SETS = [['internal', 'hybrid'], ['hybrid', 'internal'], ['internal'], ['usb', 'nfc'], ['hybrid']] as const;

/**
 * Credential descriptors for a username that has no passkey (or no account): derived from the
 * server key and the username, so they are plausible, stable across requests and instances, and
 * cannot be told apart from real ones without the key. Sign-in options thereby reveal nothing
 * about who has an account.
 */
export function decoyCredentials(keyring: Keyring, normalizedUsername: string): { id: string; transports: string[] }[] {
  const seed = Buffer.from(keyedHash(keyring, DECOY_PURPOSE, normalizedUsername), 'hex');
  const count = 1 + (seed[0]! % 2);
  return Array.from({ length: count }, (_, index) => {
    const bytes = Buffer.from(keyedHash(keyring, DECOY_PURPOSE, `${normalizedUsername}\0${index}`), 'hex');
    const length = CREDENTIAL_ID_BYTES[seed[1 + index]! % CREDENTIAL_ID_BYTES.length]!;
    const transports = TRANSPORT_SETS[seed[3 + index]! % TRANSPORT_SETS.length]!;
    return { id: bytes.subarray(0, length).toString('base64url'), transports: [...transports] };
  });
}
