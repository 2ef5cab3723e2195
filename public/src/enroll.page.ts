/**
 * The enrollment-link page (/enroll#token=…): the token travels in the URL fragment, so it never
 * reaches a server log or a Referer. The page checks the link, registers a passkey for the
 * account it names, and the server signs the browser in. On a recovery or import link, a browser
 * without passkeys (or a user who prefers it) sets up a password and an authenticator app
 * instead, and saves fresh backup codes; an admin link is passkey-only.
 */
import type { PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/browser';
import { ApiError, messageOf, post, type User } from './api.ts';
import { renderBackupCodes } from './backup-codes.ts';
import { renderTotpSetup, type TotpEnrollment } from './totp-setup.ts';
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

/** The password + authenticator app path (recovery and import links). */
function offerAuthenticatorApp(first: EnrollmentStart): void {
  byId('app-username').textContent = first.user.username;
  byId<HTMLInputElement>('app-username-field').value = first.user.username;
  byId('app-recovery-note').hidden = first.purpose !== 'recovery';
  // An imported account may already have a password: it can keep it (the server checks it has one).
  byId('app-password-optional').hidden = first.purpose !== 'import';
  const passwordInput = byId<HTMLInputElement>('app-password');
  const start = () => {
    messages.clear();
    showView('app-password');
  };
  byId('use-app').addEventListener('click', start);
  byId('use-app-instead').addEventListener('click', start);

  byId('app-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    messages.clear();
    const password = passwordInput.value;
    if (password === '' && first.purpose !== 'import') {
      messages.error('Choose a password.', passwordInput);
      passwordInput.focus();
      return;
    }
    await withBusy(byId<HTMLButtonElement>('app-continue'), 'Preparing…', async () => {
      try {
        const enrollment = await post<TotpEnrollment>('/api/enroll/fallback/options', password === '' ? { token } : { token, password }, quiet);
        showView('app-setup');
        renderTotpSetup(byId('app-setup'), enrollment, {
          idPrefix: 'enroll-totp',
          messages,
          submitLabel: 'Confirm and sign in',
          confirm: async (ceremonyId, code) => {
            const { user, backupCodes } = await post<{ user: User; backupCodes: string[] }>('/api/enroll/fallback/verify', { token, ceremonyId, code }, quiet);
            showView('app-codes');
            renderBackupCodes(byId('app-codes'), backupCodes, {
              username: user.username,
              continueLabel: 'Continue to your account',
              announce: (message) => messages.status(message),
              onContinue: () => {
                setFlash(first.purpose === 'recovery'
                  ? 'Your account is recovered: your password and new authenticator app are its only way in.'
                  : 'Your authenticator app is set up. Next time, sign in with your password and a code from it.');
                location.assign('/account');
              },
            });
          },
        });
      } catch (error) {
        if (isInvalidLink(error)) showView('invalid');
        else messages.error(messageOf(error), passwordInput);
      }
    });
  });
}

async function main(): Promise<void> {
  if (!token) {
    showView('invalid');
    return;
  }
  // The options name the link's account and purpose, with or without WebAuthn in this browser.
  const first = await begin();
  if (!first) return;
  const appPathOffered = first.purpose === 'recovery' || first.purpose === 'import';
  if (appPathOffered) offerAuthenticatorApp(first);
  if (!supportsPasskeys()) {
    byId('no-passkeys-app').hidden = !appPathOffered;
    showView('no-passkeys');
    return;
  }
  byId('enroll-username').textContent = first.user.username;
  byId('enroll-admin-note').hidden = first.purpose !== 'admin';
  byId('enroll-recovery-note').hidden = first.purpose !== 'recovery';
  byId('use-app-row').hidden = !appPathOffered;
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
