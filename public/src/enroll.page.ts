/**
 * The enrollment-link page (/enroll#token=…): the token travels in the URL fragment, so it never
 * reaches a server log or a Referer. The page checks the link, registers a passkey for the
 * account it names, and the server signs the browser in.
 */
import type { PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/browser';
import { ApiError, messageOf, post, type User } from './api.ts';
import { byId, pageMessages, setFlash, showView, withBusy } from './ui.ts';
import { createPasskey, passkeyErrorMessage, supportsPasskeys } from './webauthn.ts';

const messages = pageMessages();
const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
// Out of the address bar and the history entry: the link is a secret until it is used.
history.replaceState(null, '', location.pathname);

interface EnrollmentStart {
  ceremonyId: string;
  options: PublicKeyCredentialCreationOptionsJSON;
  purpose: 'admin' | 'import' | 'recovery';
  user: { username: string; displayName: string };
}

const quiet = { stepUp: false, redirectOnUnauthenticated: false } as const;

function isInvalidLink(error: unknown): boolean {
  return error instanceof ApiError && (error.code === 'enrollment_link_invalid' || error.code === 'validation_failed');
}

async function begin(): Promise<EnrollmentStart | null> {
  try {
    return await post<EnrollmentStart>('/api/enroll/passkey/options', { token }, quiet);
  } catch (error) {
    if (isInvalidLink(error)) showView('invalid');
    else messages.error(messageOf(error));
    return null;
  }
}

async function main(): Promise<void> {
  if (!token) {
    showView('invalid');
    return;
  }
  if (!supportsPasskeys()) {
    showView('no-passkeys');
    return;
  }
  const first = await begin();
  if (!first) return;
  byId('enroll-username').textContent = first.user.username;
  byId('enroll-admin-note').hidden = first.purpose !== 'admin';
  byId('enroll-recovery-note').hidden = first.purpose !== 'recovery';
  showView('ready');

  let pending: EnrollmentStart | null = first;
  byId('enroll-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    messages.clear();
    const label = byId<HTMLInputElement>('passkey-label').value.trim();
    await withBusy(byId<HTMLButtonElement>('create-passkey'), 'Waiting for your device…', async () => {
      // A ceremony is single-use: after a failed try, start a fresh one.
      const started = pending ?? (await begin());
      pending = null;
      if (!started) return;
      messages.status('Follow the prompt from your browser or device to create your passkey.');
      try {
        const response = await createPasskey(started.options);
        const { purpose } = await post<{ user: User; purpose: string }>(
          '/api/enroll/passkey/verify', label ? { token, ceremonyId: started.ceremonyId, response, label } : { token, ceremonyId: started.ceremonyId, response }, quiet);
        setFlash(
          purpose === 'admin'
            ? 'Your passkey is ready, and you are an administrator.'
            : purpose === 'recovery'
              ? 'Your account is recovered: your new passkey is its only way in. Add a second one or a fallback soon.'
              : 'Your passkey is ready. Next time, sign in with it.',
        );
        showView('done');
        location.assign('/account');
      } catch (error) {
        if (isInvalidLink(error)) showView('invalid');
        else if (error instanceof ApiError) messages.error(messageOf(error));
        else messages.error(passkeyErrorMessage(error, 'create'));
      }
    });
  });
}

void main();
