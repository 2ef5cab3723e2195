/**
 * Create an account: with a passkey by default; "My device can't use passkeys" leads to a
 * password, an authenticator app (QR code with the key beside it), a code to confirm, and backup
 * codes shown once.
 */
import type { PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/browser';
import { ApiError, currentSession, messageOf, post, type User } from './api.ts';
import { renderBackupCodes } from './backup-codes.ts';
import { rememberUserHandle, signalCurrentUserDetails, defaultRpId } from './signal.ts';
import { renderTotpSetup, type TotpEnrollment } from './totp-setup.ts';
import { byId, nextPath, setFlash, showView, viewMessages, withBusy } from './ui.ts';
import { createPasskey, passkeyErrorMessage, supportsPasskeys } from './webauthn.ts';

const messages = viewMessages();
const passkeysWork = supportsPasskeys();

function finish(flash: string): void {
  setFlash(flash);
  showView('done');
  location.assign(nextPath());
}

/** The field an answer is about: the username when it is taken or not allowed, the password when it is too weak. */
function fieldOf(error: unknown, usernameField: string, passwordField?: string): HTMLElement | null {
  if (!(error instanceof ApiError)) return null;
  if (/username/.test(error.code) || error.details.field === 'username') return byId(usernameField);
  if (passwordField && (/password/.test(error.code) || error.details.field === 'password')) return byId(passwordField);
  return null;
}

function signupError(error: unknown): string {
  if (error instanceof ApiError && error.code === 'username_taken') return 'That username is taken. Try another, or sign in if it is yours.';
  return messageOf(error);
}

// ——— Passkey ———

byId('passkey-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const username = byId<HTMLInputElement>('username').value.trim();
  const displayName = byId<HTMLInputElement>('display-name').value.trim();
  const label = byId<HTMLInputElement>('passkey-label').value.trim();
  if (!username) {
    messages.error('Choose a username.', byId('username'));
    byId('username').focus();
    return;
  }
  messages.status('Follow the prompt from your browser or device to create your passkey.');
  await withBusy(byId<HTMLButtonElement>('create-passkey'), 'Waiting for your device…', async () => {
    try {
      const { ceremonyId, options } = await post<{ ceremonyId: string; options: PublicKeyCredentialCreationOptionsJSON }>(
        '/api/signup/passkey/options', displayName ? { username, displayName } : { username }, { stepUp: false, redirectOnUnauthenticated: false });
      const response = await createPasskey(options);
      const { user } = await post<{ user: User }>('/api/signup/passkey/verify', label ? { ceremonyId, response, label } : { ceremonyId, response }, { stepUp: false, redirectOnUnauthenticated: false });
      rememberUserHandle(user.username, options.user.id);
      await signalCurrentUserDetails(options.rp.id ?? defaultRpId(), options.user.id, user.username, user.displayName ?? user.username);
      finish('Your account is ready. Next time, sign in with your passkey.');
    } catch (error) {
      if (error instanceof ApiError) messages.error(signupError(error), fieldOf(error, 'username'));
      else messages.error(passkeyErrorMessage(error, 'create'));
    }
  });
});

byId('to-password').addEventListener('click', () => {
  const typed = byId<HTMLInputElement>('username').value.trim();
  if (typed) byId<HTMLInputElement>('pw-username').value = typed;
  messages.clear();
  showView('password');
});
byId('back-to-passkey').addEventListener('click', () => {
  messages.clear();
  showView('passkey');
});

// ——— Password → authenticator app → backup codes ———

let pendingUsername = '';

byId('password-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const username = byId<HTMLInputElement>('pw-username').value.trim();
  const password = byId<HTMLInputElement>('new-password').value;
  const displayName = byId<HTMLInputElement>('display-name').value.trim();
  if (!username || !password) {
    messages.error(!username ? 'Choose a username.' : 'Choose a password.', byId(!username ? 'pw-username' : 'new-password'));
    byId(!username ? 'pw-username' : 'new-password').focus();
    return;
  }
  await withBusy(byId<HTMLButtonElement>('password-continue'), 'Setting up…', async () => {
    try {
      const enrollment = await post<TotpEnrollment>(
        '/api/signup/totp/start', displayName ? { username, password, displayName } : { username, password },
        { stepUp: false, redirectOnUnauthenticated: false });
      pendingUsername = username;
      messages.clear();
      showTotp(enrollment);
    } catch (error) {
      messages.error(signupError(error), fieldOf(error, 'pw-username', 'new-password'));
    }
  });
});

function showTotp(enrollment: TotpEnrollment): void {
  renderTotpSetup(byId('totp-setup'), enrollment, {
    idPrefix: 'signup-totp',
    messages,
    submitLabel: 'Confirm and create account',
    confirm: async (ceremonyId, code) => {
      try {
        const { user, backupCodes } = await post<{ user: User; backupCodes?: string[] }>(
          '/api/signup/totp/verify', { ceremonyId, code }, { stepUp: false, redirectOnUnauthenticated: false });
        messages.clear();
        showCodes(user, backupCodes ?? []);
      } catch (error) {
        if (error instanceof ApiError && error.code === 'ceremony_invalid') {
          showView('password');
          messages.error('Setting up took too long, so we stopped to keep your account safe. Enter your password again to start over.');
          return;
        }
        throw error;
      }
    },
  });
  showView('totp');
}

function showCodes(user: User, codes: string[]): void {
  if (codes.length === 0) {
    finish('Your account is ready.');
    return;
  }
  renderBackupCodes(byId('codes'), codes, {
    username: user.username || pendingUsername,
    continueLabel: 'Continue to your account',
    onContinue: () => finish('Your account is ready. Keep your authenticator app and backup codes safe.'),
    announce: (message) => messages.status(message),
  });
  showView('codes');
  messages.status('Your authenticator app is set up.');
}

// ——— Start ———

async function start(): Promise<void> {
  // As on the sign-in page: a way chosen before the session check answers (a slow network) stands.
  const viewAtStart = document.body.dataset.currentView;
  const existing = await currentSession().catch(() => null);
  if (existing) {
    location.replace('/account');
    return;
  }
  const chosenMeanwhile = document.body.dataset.currentView !== viewAtStart;
  if (!passkeysWork) {
    byId('no-webauthn').hidden = false;
    byId('back-to-passkey').hidden = true;
    if (!chosenMeanwhile) showView('password', { focus: false });
    return;
  }
  if (!chosenMeanwhile) showView('passkey', { focus: false });
}

void start();
