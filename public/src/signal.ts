/**
 * The WebAuthn Signal API: tell the password manager what the server knows, so it stops offering
 * passkeys the server no longer accepts and shows the current name. Feature-detected and
 * fire-and-forget: where the browser lacks a method, nothing happens and nothing is thrown.
 */

interface SignalingPublicKeyCredential {
  signalUnknownCredential?: (options: { rpId: string; credentialId: string }) => Promise<void>;
  signalAllAcceptedCredentials?: (options: { rpId: string; userId: string; allAcceptedCredentialIds: string[] }) => Promise<void>;
  signalCurrentUserDetails?: (options: { rpId: string; userId: string; name: string; displayName: string }) => Promise<void>;
}

function signaling(): SignalingPublicKeyCredential | null {
  const credential = (globalThis as { PublicKeyCredential?: unknown }).PublicKeyCredential;
  return credential ? (credential as SignalingPublicKeyCredential) : null;
}

async function quietly(call: () => Promise<void> | undefined): Promise<void> {
  try {
    await call();
  } catch {
    // A signal is best effort; a browser that refuses it changes nothing for the user.
  }
}

let serverRpId: string | null = null;

/** The server names its relying party id in `GET /api/session`; remember it for this page. */
export function setRelyingPartyId(rpId: string | undefined): void {
  if (typeof rpId === 'string' && rpId) serverRpId = rpId;
}

/** The relying party id: as the server named it; before that, this host (right unless LATCH_RP_ID is a parent domain). */
export function defaultRpId(): string {
  return serverRpId ?? location.hostname;
}

const USER_HANDLE_KEY = 'latch.webauthnUser';

/**
 * The WebAuthn user handle of the signed-in user, learned from a ceremony (registration options'
 * `user.id`, or an assertion's `userHandle`) and kept for this tab, so later signals can name it.
 */
export function rememberUserHandle(username: string, userHandle: string | null | undefined): void {
  if (!userHandle) return;
  try {
    sessionStorage.setItem(USER_HANDLE_KEY, JSON.stringify({ username, userHandle }));
  } catch {
    // storage unavailable: signals that need the handle are skipped
  }
}

export function knownUserHandle(username: string): string | null {
  try {
    const stored = JSON.parse(sessionStorage.getItem(USER_HANDLE_KEY) ?? 'null') as { username?: string; userHandle?: string } | null;
    return stored && stored.username === username && stored.userHandle ? stored.userHandle : null;
  } catch {
    return null;
  }
}

/** A passkey the server does not know (removed, or never registered) was offered at sign-in. */
export async function signalUnknownCredential(rpId: string, credentialId: string): Promise<void> {
  const api = signaling();
  if (typeof api?.signalUnknownCredential !== 'function') return;
  await quietly(() => api.signalUnknownCredential!({ rpId, credentialId }));
}

/** The complete list of this user's passkeys the server accepts; others can be hidden. */
export async function signalAllAcceptedCredentials(rpId: string, userId: string | null, credentialIds: string[]): Promise<void> {
  const api = signaling();
  if (!userId || typeof api?.signalAllAcceptedCredentials !== 'function') return;
  await quietly(() => api.signalAllAcceptedCredentials!({ rpId, userId, allAcceptedCredentialIds: credentialIds }));
}

/** The account's current name, so the passkey picker shows it. */
export async function signalCurrentUserDetails(rpId: string, userId: string | null, name: string, displayName: string): Promise<void> {
  const api = signaling();
  if (!userId || typeof api?.signalCurrentUserDetails !== 'function') return;
  await quietly(() => api.signalCurrentUserDetails!({ rpId, userId, name, displayName }));
}
