import { generateRegistrationOptions, type RegistrationResponseJSON } from '@simplewebauthn/server';
import type { Transaction } from 'kysely';
import { consumeCeremony, createCeremony } from '../ceremonies/ceremonies.ts';
import { ceremonyData, type CeremonyData } from '../ceremonies/data.ts';
import { randomToken, type Keyring } from '../crypto/keyring.ts';
import type { Database, Factor, User } from '../db/schema.ts';
import type { Db } from '../db/database.ts';
import { LatchError } from '../errors.ts';
import type { AuthenticatorNames } from '../factors/aaguid.ts';
import { credentialDescriptor, insertPasskey, isCredentialRegistered, listActivePasskeys } from '../factors/passkey.ts';
import { defaultPasskeyLabel } from '../factors/passkey-label.ts';
import { queueNotification, type NotificationOrigin } from '../notifications/outbox.ts';
import { createUser, findUserByUsername, normalizeUsername } from '../users/users.ts';
import { refuse, type CeremonyOutcome } from './outcome.ts';
import {
  checkAttestation,
  PASSKEY_CEREMONY_TIMEOUT_MS,
  PASSKEY_CEREMONY_TTL_SECONDS,
  SUPPORTED_ALGORITHM_IDS,
  type RelyingParty,
  type VerifiedAttestation,
} from './relying-party.ts';

/**
 * Passkey registration: a new account's first passkey (sign-up) and another passkey for a
 * signed-in user (enrollment). Both create a discoverable credential — a passkey the browser can
 * offer without a username — with attestation "none": we trust the key, not a vendor statement.
 */

type NewUserData = CeremonyData<'passkey_signup'>;

async function registrationOptions(rp: RelyingParty, user: { webauthnUserId: string; username: string; displayName: string }, exclude: Factor[]) {
  return generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userID: new Uint8Array(Buffer.from(user.webauthnUserId, 'base64url')),
    userName: user.username,
    userDisplayName: user.displayName,
    timeout: PASSKEY_CEREMONY_TIMEOUT_MS,
    attestationType: 'none',
    excludeCredentials: exclude.map(credentialDescriptor),
    authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'preferred' },
    supportedAlgorithmIDs: SUPPORTED_ALGORITHM_IDS,
  });
}

/** Sign-up, step one. The user does not exist until the passkey is verified; the ceremony carries who they will be. */
export async function startPasskeySignUp(db: Db, keyring: Keyring, rp: RelyingParty, input: { username: string; displayName?: string | null }, now: Date) {
  const username = normalizeUsername(input.username);
  if (await findUserByUsername(db, username)) throw new LatchError('username_taken');
  const newUser: NewUserData = { username, displayName: input.displayName?.trim() || username, webauthnUserId: randomToken(32) };
  const options = await registrationOptions(rp, newUser, []);
  const ceremonyId = await createCeremony(
    db,
    keyring,
    { kind: 'passkey_signup', challenge: options.challenge, data: { ...newUser }, ttlSeconds: PASSKEY_CEREMONY_TTL_SECONDS },
    now,
  );
  return { ceremonyId, options };
}

/**
 * Adding a passkey, step one. The user's passkeys are excluded, so an authenticator that holds one
 * says so instead of making a second. Either in a session (`sessionId`) or, without one, through
 * an enrollment link (`enrollmentLinkId`): the ceremony remembers which, and only the same can finish it.
 */
export async function startPasskeyEnrollment(
  db: Db,
  keyring: Keyring,
  rp: RelyingParty,
  input: { user: User; sessionId: string; enrollmentLinkId?: never; automatic?: boolean } | { user: User; sessionId: null; enrollmentLinkId: string; automatic?: never },
  now: Date,
) {
  const options = await registrationOptions(
    rp,
    { webauthnUserId: input.user.webauthn_user_id, username: input.user.username, displayName: input.user.display_name },
    await listActivePasskeys(db, input.user.id),
  );
  const ceremonyId = await createCeremony(
    db,
    keyring,
    {
      kind: 'passkey_register',
      userId: input.user.id,
      sessionId: input.sessionId,
      challenge: options.challenge,
      data: input.enrollmentLinkId ? { enrollmentLinkId: input.enrollmentLinkId } : input.automatic ? { automatic: true } : {},
      ttlSeconds: PASSKEY_CEREMONY_TTL_SECONDS,
    },
    now,
  );
  return { ceremonyId, options };
}

export interface FinishRegistrationInput {
  ceremonyId: string;
  response: RegistrationResponseJSON;
  /** The user's name for it; null gives it a recognisable default (factors/passkey-label.ts). */
  label: string | null;
  /** For that default: the browser that made it, and the authenticator names the server knows. */
  userAgent?: string | null;
  authenticatorNames?: AuthenticatorNames;
}

/** Sign-up, step two: the user and their passkey, in the caller's transaction (the route adds the session). */
export async function finishPasskeySignUp(
  trx: Transaction<Database>,
  keyring: Keyring,
  rp: RelyingParty,
  input: FinishRegistrationInput,
  now: Date,
): Promise<CeremonyOutcome<{ user: User; factor: Factor; userVerified: boolean }>> {
  const ceremony = await consumeCeremony(trx, keyring, input.ceremonyId, 'passkey_signup', now);
  const newUser = ceremony ? ceremonyData(ceremony, 'passkey_signup') : null;
  if (!ceremony || !newUser) return refuse('ceremony_invalid', 'ceremony_invalid');

  const attestation = await verifyNewPasskey(trx, rp, ceremony.challenge!, input.response, null);
  if (!attestation.ok) return attestation;

  // Taken between the two steps (options checked it): refuse plainly, nothing was written yet.
  const user = await createUser(trx, newUser, now);
  if (!user) return refuse('username_taken', 'username_taken');
  const label = input.label ?? defaultPasskeyLabel(attestation.value, { userAgent: input.userAgent ?? null, names: input.authenticatorNames });
  // Creating the account with it signed the user in: that is its first use.
  const factor = await insertPasskey(trx, user.id, { ...attestation.value, label, lastUsedAt: now }, now);
  // A concurrent registration of the same credential won the race: undo the user with everything else.
  if (!factor) throw new LatchError('credential_already_registered');
  return { ok: true, value: { user, factor, userVerified: attestation.value.userVerified } };
}

/**
 * Adding a passkey, step two. The ceremony must be this session's own (another session, even of
 * the same user, cannot finish it); the policy check is the caller's, in the same transaction.
 */
export async function finishPasskeyEnrollment(
  trx: Transaction<Database>,
  keyring: Keyring,
  rp: RelyingParty,
  input: FinishRegistrationInput & ({ userId: string; sessionId: string; enrollmentLinkId?: never } | { userId: string; sessionId: null; enrollmentLinkId: string }),
  now: Date,
  /** Where the registration came from, for the notification. */
  from?: NotificationOrigin,
): Promise<CeremonyOutcome<{ factor: Factor; automatic: boolean }>> {
  const ceremony = await consumeCeremony(trx, keyring, input.ceremonyId, 'passkey_register', now);
  const data = ceremony ? ceremonyData(ceremony, 'passkey_register') : null;
  if (!ceremony || !data) return refuse('ceremony_invalid', 'ceremony_invalid', { userId: input.userId });
  // A session's ceremony finishes only in that session, a link's only with that link.
  if (ceremony.user_id !== input.userId || ceremony.session_id !== input.sessionId || (data.enrollmentLinkId ?? null) !== (input.enrollmentLinkId ?? null)) {
    return refuse('ceremony_invalid', 'ceremony_of_another_session', { userId: input.userId });
  }

  // Made by the password manager right after a password + TOTP sign-in (the caller checked the window).
  const automatic = data.automatic === true;
  const attestation = await verifyNewPasskey(trx, rp, ceremony.challenge!, input.response, input.userId, { requireUserPresence: !automatic });
  if (!attestation.ok) return attestation;

  const label =
    input.label ??
    defaultPasskeyLabel(attestation.value, {
      userAgent: input.userAgent ?? null,
      names: input.authenticatorNames,
      taken: (await listActivePasskeys(trx, input.userId)).map((passkey) => passkey.label),
    }) + (automatic ? ' (added automatically)' : '');
  const factor = await insertPasskey(trx, input.userId, { ...attestation.value, label, boundSessionId: input.sessionId }, now);
  if (!factor) throw new LatchError('credential_already_registered');
  // The user did not see this one being made: the notification says what happened and why.
  await queueNotification(trx, {
    userId: input.userId,
    kind: automatic ? 'passkey_upgraded' : 'factor_added',
    payload: { factorId: factor.id, kind: 'passkey', label: factor.label, aaguid: factor.aaguid },
    now,
    from,
  });
  return { ok: true, value: { factor, automatic } };
}

/** The attestation checks shared by both registrations, plus the one SimpleWebAuthn cannot do: is this credential new here? */
async function verifyNewPasskey(
  trx: Transaction<Database>,
  rp: RelyingParty,
  challenge: string,
  response: RegistrationResponseJSON,
  userId: string | null,
  options: { requireUserPresence: boolean } = { requireUserPresence: true },
): Promise<CeremonyOutcome<VerifiedAttestation>> {
  // UV is preferred, not required: without it the passkey still signs in, as a single factor.
  const check = await checkAttestation(rp, response, challenge, { requireUserVerification: false, requireUserPresence: options.requireUserPresence });
  if (!check.ok) return refuse('passkey_verification_failed', check.reason, { userId });
  if (await isCredentialRegistered(trx, check.value.credentialId)) {
    return refuse('credential_already_registered', 'credential_already_registered', { userId });
  }
  return check;
}
