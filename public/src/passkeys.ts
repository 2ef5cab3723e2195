/**
 * Passkey journeys shared by the pages: sign in with one, add one to the signed-in account, and
 * keep the password manager's list in step with the server (Signal API).
 */
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { ApiError, listFactors, post, type Factor, type User } from './api.ts';
import { defaultRpId, knownUserHandle, rememberUserHandle, signalAllAcceptedCredentials, signalUnknownCredential } from './signal.ts';
import { createPasskey, createPasskeyAutomatically, supportsConditionalCreate, usePasskey, type AuthenticationResponseJSON } from './webauthn.ts';

/** Error codes with which the server says "this credential is not one we know". */
const UNKNOWN_CREDENTIAL_CODES = new Set(['credential_unknown', 'unknown_credential']);

function isUnknownCredential(error: unknown): boolean {
  return error instanceof ApiError && (UNKNOWN_CREDENTIAL_CODES.has(error.code) || error.details.unknownCredential === true);
}

/** The server could not start a passkey ceremony (unreachable, refused): nothing reached the authenticator. */
export class PasskeyOptionsFailed extends Error {
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : 'The passkey request could not start.');
    this.name = 'PasskeyOptionsFailed';
  }
}

export class UnknownPasskey extends Error {
  constructor() {
    super("This passkey isn't linked to a Latch account any more; it may have been removed. Sign in another way, or choose a different passkey.");
    this.name = 'UnknownPasskey';
  }
}

/**
 * Sign in with a passkey: discoverable (no username) or, with `autofill`, through the browser's
 * autofill suggestions. On an unknown credential, tells the password manager to forget it.
 */
export async function signInWithPasskey(
  options: {
    autofill?: boolean;
    username?: string;
    /** Asked once the server's options arrive: false when another ceremony started meanwhile (autofill must not cancel the button's). */
    stillWanted?: () => boolean;
    /** Called as the browser is asked: from here on the request waits for the user. */
    onWaiting?: () => void;
  } = {},
): Promise<{ user: User; userHandle: string | null }> {
  const body = options.username ? { username: options.username } : {};
  let started: { ceremonyId: string; options: PublicKeyCredentialRequestOptionsJSON };
  try {
    started = await post('/api/signin/passkey/options', body, { stepUp: false, redirectOnUnauthenticated: false });
  } catch (error) {
    throw new PasskeyOptionsFailed(error);
  }
  const { ceremonyId, options: requestOptions } = started;
  // Starting a ceremony cancels the pending one: a late autofill start would cancel the button's.
  if (options.stillWanted && !options.stillWanted()) throw new DOMException('A newer passkey request replaced this one.', 'AbortError');
  options.onWaiting?.();
  const response: AuthenticationResponseJSON = await usePasskey(requestOptions, options.autofill === true);
  try {
    const { user } = await post<{ user: User }>('/api/signin/passkey/verify', { ceremonyId, response }, { stepUp: false, redirectOnUnauthenticated: false });
    const userHandle = response.response.userHandle ?? null;
    rememberUserHandle(user.username, userHandle);
    return { user, userHandle };
  } catch (error) {
    if (isUnknownCredential(error)) {
      // The server names the credential and relying party it refused (credential_unknown).
      const details = (error as ApiError).details;
      const rpId = typeof details.rpId === 'string' ? details.rpId : (requestOptions.rpId ?? defaultRpId());
      const credentialId = typeof details.credentialId === 'string' ? details.credentialId : response.id;
      await signalUnknownCredential(rpId, credentialId);
      throw new UnknownPasskey();
    }
    throw error;
  }
}

/**
 * Right after a password + authenticator code sign-in: asks the password manager to create a
 * passkey without a prompt. Quiet: any refusal (no support, the user's manager declined, the
 * server's few-minute window passed) returns null and the invitation stands in.
 */
export async function upgradeToPasskeyAutomatically(username: string): Promise<Factor | null> {
  if (!(await supportsConditionalCreate())) return null;
  try {
    const { ceremonyId, options } = await post<{ ceremonyId: string; options: PublicKeyCredentialCreationOptionsJSON }>(
      '/api/factors/passkeys/options', { automatic: true }, { stepUp: false, redirectOnUnauthenticated: false });
    rememberUserHandle(username, options.user?.id);
    // A password manager that will not create one may also never answer: do not hold the page.
    const response = await Promise.race([createPasskeyAutomatically(options), new Promise<null>((resolve) => setTimeout(() => resolve(null), 5000))]);
    if (!response) return null;
    const { factor } = await post<{ factor: Factor }>('/api/factors/passkeys/verify', { ceremonyId, response }, { stepUp: false, redirectOnUnauthenticated: false });
    return factor;
  } catch {
    return null;
  }
}

/** Adds a passkey to the signed-in account (the server may ask for a step-up first). */
export async function addPasskey(username: string, label?: string): Promise<Factor> {
  const { ceremonyId, options } = await post<{ ceremonyId: string; options: PublicKeyCredentialCreationOptionsJSON }>(
    '/api/factors/passkeys/options', {}, { purpose: 'add a passkey' });
  rememberUserHandle(username, options.user?.id);
  const response = await createPasskey(options);
  const { factor } = await post<{ factor: Factor }>('/api/factors/passkeys/verify', label ? { ceremonyId, response, label } : { ceremonyId, response }, { purpose: 'add a passkey' });
  return factor;
}

function credentialIdOf(factor: Factor): string | null {
  const value = factor.credentialId ?? (factor as { credentialID?: unknown }).credentialID;
  return typeof value === 'string' && value ? value : null;
}

/**
 * Tells the password manager the complete list of this user's passkeys the server accepts, so it
 * can hide removed ones. Needs the factors to carry their credential ids and a known user handle;
 * otherwise does nothing.
 */
export async function signalAcceptedPasskeys(user: User, factors?: Factor[]): Promise<void> {
  try {
    const userHandle = user.webauthnUserId ?? knownUserHandle(user.username);
    if (!userHandle) return;
    const all = factors ?? (await listFactors());
    const ids = all.filter((factor) => factor.kind === 'passkey').map(credentialIdOf);
    if (ids.some((id) => id === null)) return; // the server does not share ids: an incomplete list would hide good passkeys
    await signalAllAcceptedCredentials(defaultRpId(), userHandle, ids as string[]);
  } catch {
    // best effort
  }
}
