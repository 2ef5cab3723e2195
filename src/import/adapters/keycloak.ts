import type { Readable } from 'node:stream';
import { encodeTotpSecret } from '../../factors/totp.ts';
import type { SourceItem } from '../import-users.ts';
import { streamArrayMember } from './json-array-stream.ts';

/**
 * Keycloak's realm export (`kc.sh export --file realm.json`, or one `<realm>-users-N.json` of
 * `kc.sh export --dir`): `{"realm": …, "users": [UserRepresentation…]}`, read one user at a time.
 *
 * What a user's credentials hold (Keycloak's CredentialRepresentation: `secretData` and
 * `credentialData` are JSON documents inside strings):
 * - `password`: secretData `{value, salt}` (base64 of the derived key and of the salt),
 *   credentialData `{hashIterations, algorithm}`. PBKDF2 (`pbkdf2` = SHA1, `pbkdf2-sha256`,
 *   `pbkdf2-sha512`): Pbkdf2PasswordHashProvider verifies with the key length of the stored value
 *   (512 bits by default; 256 for pbkdf2-sha256 in newer versions), so we keep value and salt
 *   as they are in `$pbkdf2-…$iterations$salt$value`, and the verifier takes the length from the
 *   value too. `argon2` (Argon2PasswordHashProvider, Keycloak 24+): credentialData
 *   `additionalParameters` {type: id|i|d, version: 1.3|1.0, memory (KiB), parallelism,
 *   hashLength} and hashIterations, rewritten as the standard `$argon2id$v=19$m=…,t=…,p=…$salt$hash`.
 * - `otp`: secretData `{value}`, credentialData `{subType: totp|hotp, digits, period, algorithm:
 *   HmacSHA1|HmacSHA256|HmacSHA512, secretEncoding?}`. Without secretEncoding the HMAC key is the
 *   value's UTF-8 bytes (OTPCredentialModel.getDecodedSecret; the otpauth URI carries
 *   Base32.encode(secret.getBytes()), TotpUtils.encode) — the value is NOT base32 itself. With
 *   secretEncoding BASE32 the value is base32 of the key.
 *
 * Service accounts (`serviceAccountClientId`) are not people and are passed over. A user with
 * several OTP credentials keeps the first; HOTP credentials cannot be imported (the line fails).
 */
export async function* readKeycloakExport(input: Readable): AsyncGenerator<SourceItem> {
  for await (const { line, text } of streamArrayMember(input, 'users')) {
    let user: KeycloakUser;
    try {
      user = JSON.parse(text) as KeycloakUser;
    } catch {
      yield { line, error: 'not valid JSON' };
      continue;
    }
    if (typeof user !== 'object' || user === null || Array.isArray(user)) {
      yield { line, error: 'a user is not a JSON object' };
      continue;
    }
    if (user.serviceAccountClientId) continue;
    try {
      yield { line, record: toRecord(user) };
    } catch (error) {
      yield { line, error: error instanceof KeycloakFormatError ? error.message : 'unreadable credential' };
    }
  }
}

interface KeycloakCredential {
  type?: string;
  secretData?: string | Record<string, unknown>;
  credentialData?: string | Record<string, unknown>;
}

interface KeycloakUser {
  username?: unknown;
  firstName?: string;
  lastName?: string;
  email?: string;
  emailVerified?: boolean;
  enabled?: boolean;
  groups?: unknown;
  credentials?: KeycloakCredential[];
  serviceAccountClientId?: string;
}

class KeycloakFormatError extends Error {}

/** The nested JSON documents: strings in an export, objects in some hand-made files. */
function nested(value: string | Record<string, unknown> | undefined, what: string): Record<string, any> {
  if (value === undefined) return {};
  if (typeof value === 'object' && value !== null) return value;
  try {
    const parsed = JSON.parse(value);
    if (typeof parsed === 'object' && parsed !== null) return parsed;
  } catch {
    // reported below, without the text
  }
  throw new KeycloakFormatError(`${what} is not JSON`);
}

/** The first value of a MultivaluedHashMap entry (`{"memory": ["7168"]}`), or a plain value. */
function first(value: unknown): string | undefined {
  const one = Array.isArray(value) ? value[0] : value;
  return one === undefined || one === null ? undefined : String(one);
}

const stripPadding = (base64: string) => base64.replace(/=+$/, '');

function passwordHashOf(credential: KeycloakCredential): string {
  const secret = nested(credential.secretData, 'password secretData');
  const data = nested(credential.credentialData, 'password credentialData');
  const value = typeof secret.value === 'string' ? secret.value : null;
  const salt = typeof secret.salt === 'string' ? secret.salt : null;
  const iterations = Number(data.hashIterations);
  if (!value || salt === null || !Number.isInteger(iterations) || iterations < 1) throw new KeycloakFormatError('password credential without value, salt or hashIterations');
  const algorithm = String(data.algorithm ?? '');
  const pbkdf2Prefix: Record<string, string> = { pbkdf2: '$pbkdf2$', 'pbkdf2-sha256': '$pbkdf2-sha256$', 'pbkdf2-sha512': '$pbkdf2-sha512$' };
  if (pbkdf2Prefix[algorithm]) return `${pbkdf2Prefix[algorithm]}${iterations}$${salt}$${value}`;
  if (algorithm === 'argon2') {
    const parameters = data.additionalParameters ?? {};
    const type = first(parameters.type) ?? 'id';
    const version = first(parameters.version) === '1.0' ? 16 : 19;
    const memory = Number(first(parameters.memory) ?? 7168);
    const parallelism = Number(first(parameters.parallelism) ?? 1);
    if (!['id', 'i', 'd'].includes(type)) throw new KeycloakFormatError('argon2 credential of an unknown type');
    return `$argon2${type}$v=${version}$m=${memory},t=${iterations},p=${parallelism}$${stripPadding(salt)}$${stripPadding(value)}`;
  }
  throw new KeycloakFormatError(`password algorithm ${JSON.stringify(algorithm.slice(0, 32))} is not supported`);
}

function totpOf(credential: KeycloakCredential) {
  const secret = nested(credential.secretData, 'otp secretData');
  const data = nested(credential.credentialData, 'otp credentialData');
  if (data.subType !== undefined && data.subType !== 'totp') throw new KeycloakFormatError('HOTP credentials cannot be imported (only TOTP)');
  if (typeof secret.value !== 'string' || secret.value.length === 0) throw new KeycloakFormatError('otp credential without a value');
  const encoding = data.secretEncoding === undefined || data.secretEncoding === null ? null : String(data.secretEncoding).toUpperCase();
  if (encoding !== null && encoding !== 'BASE32') throw new KeycloakFormatError('otp secretEncoding is not supported');
  return {
    secret: encoding === 'BASE32' ? secret.value : encodeTotpSecret(Buffer.from(secret.value, 'utf8')),
    algorithm: data.algorithm ?? 'HmacSHA1',
    digits: data.digits ?? 6,
    period: data.period ?? 30,
  };
}

function toRecord(user: KeycloakUser) {
  const credentials = Array.isArray(user.credentials) ? user.credentials : [];
  const password = credentials.find((credential) => credential.type === 'password');
  const otp = credentials.find((credential) => credential.type === 'otp');
  const displayName = [user.firstName, user.lastName].filter((part) => typeof part === 'string' && part.trim()).join(' ');
  return {
    username: user.username,
    displayName: displayName || null,
    email: user.email ?? null,
    emailVerified: user.emailVerified === true,
    disabled: user.enabled === false,
    // Keycloak names groups by path ("/engineering/backend"); the path without its leading slash is ours.
    groups: Array.isArray(user.groups) ? user.groups.map((group) => (typeof group === 'string' ? group.replace(/^\//, '') : group)) : [],
    passwordHash: password ? passwordHashOf(password) : null,
    totp: otp ? totpOf(otp) : null,
  };
}
