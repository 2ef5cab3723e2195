/**
 * Passkey ceremonies over @simplewebauthn/browser, with the error messages people see. Every
 * ceremony is: ask the server for options → let the browser talk to the authenticator → send the
 * response back. One ceremony at a time: starting one cancels the pending autofill request.
 */
import {
  browserSupportsWebAuthn,
  browserSupportsWebAuthnAutofill,
  platformAuthenticatorIsAvailable,
  startAuthentication,
  startRegistration,
  WebAuthnError,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/browser';

export type { AuthenticationResponseJSON, RegistrationResponseJSON };

export function supportsPasskeys(): boolean {
  return browserSupportsWebAuthn();
}

export async function supportsAutofill(): Promise<boolean> {
  try {
    return await browserSupportsWebAuthnAutofill();
  } catch {
    return false;
  }
}

/** Whether this device has a built-in authenticator (fingerprint, face, screen lock) to make a passkey with. */
export async function deviceCanCreatePasskey(): Promise<boolean> {
  try {
    return await platformAuthenticatorIsAvailable();
  } catch {
    return false;
  }
}

export async function createPasskey(options: PublicKeyCredentialCreationOptionsJSON): Promise<RegistrationResponseJSON> {
  return startRegistration({ optionsJSON: options });
}

/**
 * Whether the browser can create a passkey without a prompt (`mediation: 'conditional'`) in the
 * password manager the user just signed in with: WebAuthn L3 getClientCapabilities().
 */
export async function supportsConditionalCreate(): Promise<boolean> {
  try {
    const credential = (globalThis as { PublicKeyCredential?: { getClientCapabilities?: () => Promise<Record<string, boolean>> } }).PublicKeyCredential;
    if (typeof credential?.getClientCapabilities !== 'function') return false;
    return (await credential.getClientCapabilities()).conditionalCreate === true;
  } catch {
    return false;
  }
}

/** The automatic upgrade: the password manager may make the passkey silently, or refuse (then the invitation stands in). */
export async function createPasskeyAutomatically(options: PublicKeyCredentialCreationOptionsJSON): Promise<RegistrationResponseJSON> {
  return startRegistration({ optionsJSON: options, useAutoRegister: true });
}

export async function usePasskey(options: PublicKeyCredentialRequestOptionsJSON, autofill = false): Promise<AuthenticationResponseJSON> {
  return startAuthentication({ optionsJSON: options, useBrowserAutofill: autofill });
}

/** The user dismissed the browser's prompt or a newer ceremony replaced this one: say nothing loud. */
export function isCancellation(error: unknown): boolean {
  if (error instanceof WebAuthnError) return error.code === 'ERROR_CEREMONY_ABORTED' || error.name === 'NotAllowedError' || error.name === 'AbortError';
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'NotAllowedError');
}

/** Plain words for what went wrong in the browser or authenticator. */
export function passkeyErrorMessage(error: unknown, during: 'create' | 'use'): string {
  const name = error instanceof Error ? error.name : '';
  const code = error instanceof WebAuthnError ? error.code : '';
  if (code === 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED' || (during === 'create' && name === 'InvalidStateError')) {
    return 'This device already has a passkey for your account. You can use it to sign in.';
  }
  if (code === 'ERROR_INVALID_DOMAIN' || code === 'ERROR_INVALID_RP_ID' || name === 'SecurityError') {
    return "Passkeys don't work on this address. Open Latch at its usual address and try again.";
  }
  if (name === 'NotAllowedError' || name === 'AbortError' || code === 'ERROR_CEREMONY_ABORTED') {
    return during === 'create'
      ? 'The passkey was not created: the request was cancelled or timed out. You can try again.'
      : 'No passkey was used: the request was cancelled or timed out. You can try again.';
  }
  if (name === 'NotSupportedError' || code.startsWith('ERROR_AUTHENTICATOR_MISSING')) {
    return "This device or security key can't make the kind of passkey Latch needs. Try another device, or use an authenticator app instead.";
  }
  return during === 'create' ? 'The passkey could not be created. Try again.' : 'The passkey could not be used. Try again.';
}
