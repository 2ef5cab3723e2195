import { keyedHash, type Keyring } from '../crypto/keyring.ts';

const DECOY_PURPOSE = 'passkey-decoy-credential';
/** Lengths real authenticators use (platform providers 16–20 bytes, security keys often more). */
const CREDENTIAL_ID_BYTES = [16, 20, 32] as const;
/**
 * Transport lists as browsers report them (getTransports() is sorted, and we store it sorted —
 * see sanitizeTransports): passkey providers and phones most often, security keys less so.
 * Repeated entries weight the draw.
 */
const TRANSPORT_SETS = [
  ['hybrid', 'internal'],
  ['hybrid', 'internal'],
  ['hybrid', 'internal'],
  ['internal'],
  ['internal'],
  ['hybrid'],
  ['nfc', 'usb'],
  ['usb'],
] as const;

/**
 * How many passkeys a decoy user has, out of 100: most people have one, some two, a few three —
 * real users can have more than two, so decoys must too.
 */
function decoyCount(roll: number): number {
  const percent = roll % 100;
  if (percent < 60) return 1;
  if (percent < 88) return 2;
  return 3;
}

/**
 * Credential descriptors for a username that has no passkey (or no account): derived from the
 * server key and the username, so they are plausible, stable across requests and instances, and
 * cannot be told apart from real ones without the key. Sign-in options thereby reveal nothing
 * about who has an account.
 */
export function decoyCredentials(keyring: Keyring, normalizedUsername: string): { id: string; transports: string[] }[] {
  const seed = Buffer.from(keyedHash(keyring, DECOY_PURPOSE, normalizedUsername), 'hex');
  const count = decoyCount(seed.readUInt16BE(0));
  return Array.from({ length: count }, (_, index) => {
    const bytes = Buffer.from(keyedHash(keyring, DECOY_PURPOSE, `${normalizedUsername}\0${index}`), 'hex');
    const length = CREDENTIAL_ID_BYTES[seed[2 + index]! % CREDENTIAL_ID_BYTES.length]!;
    const transports = TRANSPORT_SETS[seed[5 + index]! % TRANSPORT_SETS.length]!;
    return { id: bytes.subarray(0, length).toString('base64url'), transports: [...transports] };
  });
}
