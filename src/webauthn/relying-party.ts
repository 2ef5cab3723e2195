import {
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Config } from '../config.ts';
import type { NewPasskey } from '../factors/passkey.ts';

/**
 * Who we are to the browser's WebAuthn API, and the two SimpleWebAuthn calls wrapped so that a
 * refusal is a result with a coarse reason rather than an exception whose message quotes the
 * challenge and the client's origin (neither belongs in an audit row, a log or an error message).
 *
 * SimpleWebAuthn checks type, challenge, origin, RP ID hash, UP/UV and the signature. What it
 * leaves to us (single use, ownership, counters, purpose) is done by the callers.
 */
export interface RelyingParty {
  id: string;
  name: string;
  /** Every origin whose assertions we accept: the primary one and any related origins. */
  origins: string[];
}

export function relyingPartyFrom(config: Config): RelyingParty {
  return { id: config.rpId, name: config.rpName, origins: config.origins };
}

/** ES256, EdDSA, RS256: pinned, so a library upgrade cannot quietly widen what we accept. */
export const SUPPORTED_ALGORITHM_IDS = [-7, -8, -257];

/** A ceremony lives this long on the server; the browser is told a little less, so it gives up first. */
export const PASSKEY_CEREMONY_TTL_SECONDS = 5 * 60;
export const PASSKEY_CEREMONY_TIMEOUT_MS = (PASSKEY_CEREMONY_TTL_SECONDS - 30) * 1000;

export type WebAuthnFailureReason =
  | 'type_mismatch'
  | 'challenge_mismatch'
  | 'origin_mismatch'
  | 'cross_origin'
  | 'rp_id_mismatch'
  | 'user_not_present'
  | 'user_not_verified'
  | 'backup_flags_invalid'
  | 'algorithm_unsupported'
  | 'signature_invalid'
  | 'attestation_invalid'
  | 'credential_id_mismatch'
  | 'credential_id_too_long'
  | 'malformed_response';

export type WebAuthnCheck<T> = { ok: true; value: T } | { ok: false; reason: WebAuthnFailureReason };

/** WebAuthn §6.1: a credential id is at most 1023 bytes (a longer one cannot be named in sign-in options). */
export const MAX_CREDENTIAL_ID_BYTES = 1023;

/** What a verified registration tells us: everything the passkey row stores but the user's label. */
export type VerifiedAttestation = Omit<NewPasskey, 'label'>;

export async function checkAttestation(
  rp: RelyingParty,
  response: RegistrationResponseJSON,
  expectedChallenge: string,
  /**
   * `requireUserPresence: false` only for an automatic upgrade (`mediation: 'conditional'`): the
   * password manager creates that passkey without a gesture, so UP may be clear (WebAuthn L3
   * §5.1.3); the session that asks for it proved two factors minutes ago instead.
   */
  options: { requireUserVerification: boolean; requireUserPresence?: boolean },
): Promise<WebAuthnCheck<VerifiedAttestation>> {
  try {
    const result = await verifyRegistrationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp.origins,
      expectedRPID: rp.id,
      expectedType: 'webauthn.create',
      requireUserPresence: options.requireUserPresence ?? true,
      requireUserVerification: options.requireUserVerification,
      supportedAlgorithmIDs: SUPPORTED_ALGORITHM_IDS,
    });
    if (!result.verified) return { ok: false, reason: 'attestation_invalid' };
    const info = result.registrationInfo;
    // WebAuthn §7.1 step 23: the id in the authenticator data is the credential; the browser's
    // `id`/`rawId` must name the same one, or we would store a passkey no sign-in can find.
    if (info.credential.id !== response.id || response.rawId !== response.id) return { ok: false, reason: 'credential_id_mismatch' };
    // §7.1 step 22: longer ids are refused (they cannot be named in options, nor fit the index).
    if (Buffer.from(info.credential.id, 'base64url').length > MAX_CREDENTIAL_ID_BYTES) return { ok: false, reason: 'credential_id_too_long' };
    return {
      ok: true,
      value: {
        credentialId: info.credential.id,
        publicKey: info.credential.publicKey,
        counter: info.credential.counter,
        transports: sanitizeTransports(info.credential.transports),
        aaguid: info.aaguid,
        userVerified: info.userVerified,
        backupEligible: info.credentialDeviceType === 'multiDevice',
        backedUp: info.credentialBackedUp,
      },
    };
  } catch (error) {
    return { ok: false, reason: classifyFailure(error) };
  }
}

export interface VerifiedAssertion {
  newCounter: number;
  userVerified: boolean;
  backupEligible: boolean;
  backedUp: boolean;
  origin: string;
}

export async function checkAssertion(
  rp: RelyingParty,
  response: AuthenticationResponseJSON,
  expectedChallenge: string,
  credential: { credentialId: string; publicKey: Uint8Array<ArrayBuffer>; transports: string[] | null },
  options: { requireUserVerification: boolean },
): Promise<WebAuthnCheck<VerifiedAssertion>> {
  try {
    const result = await verifyAuthenticationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp.origins,
      expectedRPID: rp.id,
      expectedType: 'webauthn.get',
      requireUserVerification: options.requireUserVerification,
      credential: {
        id: credential.credentialId,
        publicKey: credential.publicKey,
        // Counter 0 turns the library's own counter check off: ours (assessSignCount) runs only
        // after the signature is proven, so forged junk can never flag someone's passkey.
        counter: 0,
        transports: credential.transports ?? [],
      },
    });
    if (!result.verified) return { ok: false, reason: 'signature_invalid' };
    const info = result.authenticationInfo;
    return {
      ok: true,
      value: {
        newCounter: info.newCounter,
        userVerified: info.userVerified,
        backupEligible: info.credentialDeviceType === 'multiDevice',
        backedUp: info.credentialBackedUp,
        origin: info.origin,
      },
    };
  } catch (error) {
    return { ok: false, reason: classifyFailure(error) };
  }
}

const KNOWN_TRANSPORTS = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);

/**
 * Transports are client-supplied hints: keep the known ones, once each, sorted — as browsers
 * report them (getTransports() is sorted), so a stored list never stands out from decoys.
 */
export function sanitizeTransports(transports: readonly string[] | undefined | null): string[] {
  return [...new Set((transports ?? []).filter((transport) => KNOWN_TRANSPORTS.has(transport)))].sort();
}

/**
 * Maps SimpleWebAuthn's exception to a reason we can store. Only the fixed start of the message is
 * read: the rest quotes client-controlled values.
 */
function classifyFailure(error: unknown): WebAuthnFailureReason {
  if (!(error instanceof Error)) return 'malformed_response';
  if (error.name === 'InvalidBackupFlags') return 'backup_flags_invalid';
  if (error.name === 'UnexpectedRPIDHash') return 'rp_id_mismatch';
  const field = /^Unexpected (?:authentication|registration) response (\w+)/.exec(error.message)?.[1];
  if (field === 'type') return 'type_mismatch';
  if (field === 'challenge') return 'challenge_mismatch';
  if (field === 'origin') return 'origin_mismatch';
  if (/^Custom challenge verifier/.test(error.message)) return 'challenge_mismatch';
  if (/^(?:Detected cross-origin|Unexpected cross-origin|Unexpected top origin)/.test(error.message)) return 'cross_origin';
  if (/^User (?:not present|presence was required)/.test(error.message)) return 'user_not_present';
  if (/^User verification/.test(error.message)) return 'user_not_verified';
  if (/^Unexpected public key alg/.test(error.message)) return 'algorithm_unsupported';
  return 'malformed_response';
}
