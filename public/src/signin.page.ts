/**
 * Sign in: passkey first (autofill on load, or the button), then password + authenticator code,
 * then a backup code. After a fallback sign-in, invite the user to add a passkey; after a backup
 * code, say how many are left and offer new ones.
 */
import { ApiError, attemptsLeftNote, currentSession, del, get, isRestricted, isWrongCode, listFactors, messageOf, post, type Rollout, type User } from './api.ts';
import { renderBackupCodes } from './backup-codes.ts';
import { addPasskey, PasskeyOptionsFailed, signalAcceptedPasskeys, signInWithPasskey, UnknownPasskey, upgradeToPasskeyAutomatically } from './passkeys.ts';
import { installStepUp } from './stepup.ts';
import { byId, digitsOnly, nextPath, setFlash, showView, takeFlash, viewMessages, withBusy } from './ui.ts';
import { deviceCanCreatePasskey, isCancellation, passkeyErrorMessage, supportsAutofill, supportsPasskeys } from './webauthn.ts';

const messages = viewMessages();
const passkeysWork = supportsPasskeys();

/** The password step's answer, carried to the code step. */
let ticket: string | null = null;
let methods: string[] = [];
let signedInUser: User | null = null;
/** What the organization's passkey rollout asked of this sign-in (server's answer). */
let rollout: Rollout | null = null;

function goOn(): void {
  showView('done');
  location.assign(nextPath());
}

// ——— Passkey ———

let autofillRunning = false;
/** Set while the button's ceremony runs: an autofill request must not start (and so cancel it). */
let buttonCeremony = false;

async function startAutofill(): Promise<void> {
  if (!passkeysWork || autofillRunning || buttonCeremony || !(await supportsAutofill())) return;
  autofillRunning = true;
  try {
    const { user } = await signInWithPasskey({
      autofill: true,
      stillWanted: () => !buttonCeremony,
      // Marks the page while the autofill request waits for the user (tests wait for it too).
      onWaiting: () => {
        document.body.dataset.passkeyAutofill = 'waiting';
      },
    });
    await afterPasskeySignIn(user);
  } catch (error) {
    // Autofill is quiet: it is cancelled whenever the button starts a ceremony, and if it cannot
    // start, the button still works (and says what is wrong).
    if (error instanceof PasskeyOptionsFailed) return;
    if (error instanceof UnknownPasskey) messages.error(error.message);
    else if (error instanceof ApiError) messages.error(messageOf(error));
    else if (!isCancellation(error)) messages.error(passkeyErrorMessage(error, 'use'));
  } finally {
    autofillRunning = false;
    delete document.body.dataset.passkeyAutofill;
  }
}

async function afterPasskeySignIn(user: User): Promise<void> {
  signedInUser = user;
  messages.status(`Signed in as ${user.username}.`);
  await signalAcceptedPasskeys(user);
  goOn();
}

byId('passkey-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = byId<HTMLButtonElement>('passkey-button');
  messages.status('Follow the prompt from your browser or device.');
  let signedIn = false;
  buttonCeremony = true;
  await withBusy(button, 'Waiting for your passkey…', async () => {
    try {
      // No username needed: the passkey itself says who you are. A typed one narrows the choice
      // to that account's passkeys (and helps a phone nearby find the right one).
      const typed = byId<HTMLInputElement>('username').value.trim();
      const { user } = await signInWithPasskey(typed ? { username: typed } : {});
      signedIn = true;
      await afterPasskeySignIn(user);
    } catch (error) {
      // Someone who signs in with a password may press Enter here first: point them on.
      const pointer = ' No passkey? Choose "Use password and authenticator code instead" below.';
      if (error instanceof UnknownPasskey) messages.error(error.message);
      else if (error instanceof PasskeyOptionsFailed) messages.error(messageOf(error.cause));
      else if (error instanceof ApiError) messages.error(`${messageOf(error)}${pointer}`);
      else messages.error(`${passkeyErrorMessage(error, 'use')}${pointer}`);
    }
  });
  buttonCeremony = false;
  if (!signedIn) void startAutofill();
});

// ——— Password, then a code ———

function showPassword(): void {
  const typed = byId<HTMLInputElement>('username').value.trim();
  const field = byId<HTMLInputElement>('pw-username');
  if (typed && !field.value) field.value = typed;
  messages.clear();
  showView('password');
}

byId('to-password').addEventListener('click', showPassword);
byId('back-to-passkey').addEventListener('click', () => {
  messages.clear();
  showView('passkey');
  void startAutofill();
});

byId('password-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const username = byId<HTMLInputElement>('pw-username').value.trim();
  const password = byId<HTMLInputElement>('password').value;
  if (!username || !password) {
    messages.error(!username ? 'Enter your username.' : 'Enter your password.', byId(!username ? 'pw-username' : 'password'));
    byId(!username ? 'pw-username' : 'password').focus();
    return;
  }
  await withBusy(byId<HTMLButtonElement>('password-continue'), 'Checking…', async () => {
    try {
      const answer = await post<{ ticket?: string; methods?: string[]; user?: User; rollout?: Rollout | null }>(
        '/api/signin/password', { username, password }, { stepUp: false, redirectOnUnauthenticated: false });
      if (answer.user) {
        // A remembered browser: the password was enough.
        await afterFallbackSignIn(answer.user, 'Welcome back. This browser is remembered, so your password was enough.', answer.rollout ?? null);
        return;
      }
      ticket = answer.ticket ?? null;
      methods = answer.methods ?? ['totp', 'backup_code'];
      messages.clear();
      byId<HTMLInputElement>('password').value = '';
      if (methods.includes('totp')) showCodeStep();
      else showBackupStep();
    } catch (error) {
      messages.error(messageOf(error));
    }
  });
});

function showCodeStep(): void {
  byId('to-backup').hidden = !methods.includes('backup_code');
  byId<HTMLInputElement>('totp-code').value = '';
  showView('totp');
}

function showBackupStep(): void {
  byId('back-to-totp').hidden = !methods.includes('totp');
  byId<HTMLInputElement>('backup-code').value = '';
  showView('backup');
}

for (const button of document.querySelectorAll('[data-action="start-over"]')) {
  button.addEventListener('click', () => {
    ticket = null;
    messages.clear();
    showView('password');
  });
}
byId('to-backup').addEventListener('click', () => {
  messages.clear();
  showBackupStep();
});
byId('back-to-totp').addEventListener('click', () => {
  messages.clear();
  showCodeStep();
});

/**
 * The lock, with when it ends. A passkey is suggested only where this browser can use one: the
 * server does not say whether the account has one (that would tell anyone who knows the username),
 * and backup codes count on their own, so they are offered too.
 */
function lockedOutMessage(error: unknown): string | null {
  if (!(error instanceof ApiError) || error.code !== 'locked_out') return null;
  const alternatives = passkeysWork
    ? ' Meanwhile you can use a backup code, or sign in with a passkey if you have one.'
    : ' Meanwhile you can use a backup code.';
  return `${messageOf(error)}${alternatives}`;
}

/** The ticket ended (expired or used up): back to the password, saying why. */
function ticketEnded(error: unknown): boolean {
  if (error instanceof ApiError && (error.code === 'ticket_invalid' || error.code === 'ceremony_invalid')) {
    ticket = null;
    showView('password');
    messages.error('That sign-in took too long or had too many tries. Enter your password again.');
    return true;
  }
  return false;
}

byId('totp-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = byId<HTMLInputElement>('totp-code');
  const code = digitsOnly(input.value);
  if (code.length !== 6) {
    messages.error('Enter the 6-digit code from your authenticator app.', input);
    input.focus();
    return;
  }
  await withBusy(byId<HTMLButtonElement>('totp-submit'), 'Checking…', async () => {
    try {
      const answer = await post<{ user: User; rollout?: Rollout | null }>(
        '/api/signin/totp', { ticket, code, rememberDevice: byId<HTMLInputElement>('remember').checked },
        { stepUp: false, redirectOnUnauthenticated: false });
      await afterFallbackSignIn(answer.user, `Signed in as ${answer.user.username}.`, answer.rollout ?? null, { automaticUpgrade: true });
    } catch (error) {
      if (ticketEnded(error)) return;
      // Wrong password and wrong code look the same from here, on purpose.
      messages.error(isWrongCode(error)
        ? `That didn't work. Check your password and the newest code from your app, then try again.${attemptsLeftNote(error)}`
        : lockedOutMessage(error) ?? messageOf(error), input);
      input.select();
    }
  });
});

byId('backup-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = byId<HTMLInputElement>('backup-code');
  const code = input.value.trim();
  if (!code) {
    messages.error('Enter one of your backup codes.', input);
    input.focus();
    return;
  }
  await withBusy(byId<HTMLButtonElement>('backup-submit'), 'Checking…', async () => {
    try {
      const { user, remainingBackupCodes, rollout: asked } = await post<{ user: User; remainingBackupCodes?: number; rollout?: Rollout | null }>(
        '/api/signin/backup-code', { ticket, code }, { stepUp: false, redirectOnUnauthenticated: false });
      signedInUser = user;
      rollout = asked ?? null;
      // Required and past the deadline: the passkey comes first, the codes can wait.
      if (isRestricted(rollout)) {
        showRestricted(user, rollout.since);
        return;
      }
      await showRecovered(user, remainingBackupCodes ?? null);
    } catch (error) {
      if (ticketEnded(error)) return;
      messages.error(isWrongCode(error)
        ? `That didn't work. Check your password and the backup code. Each code works only once.${attemptsLeftNote(error)}`
        : messageOf(error), input);
      input.select();
    }
  });
});

// ——— After a fallback sign-in ———

async function hasPasskey(): Promise<boolean> {
  try {
    return (await listFactors()).some((factor) => factor.kind === 'passkey');
  } catch {
    return true; // unsure: don't nag
  }
}

/** A date the way people read it here ("3 December 2026"). */
function formatDate(iso: string): string {
  return new Date(iso).toLocaleDateString(undefined, { day: 'numeric', month: 'long', year: 'numeric' });
}

/**
 * After a password (+ code, or a remembered browser): the rollout's restriction first; then, right
 * after a password + code sign-in, the automatic upgrade where the browser can make a passkey
 * without a prompt; else the invitation (the organization's, with the days left, or our own nudge).
 */
async function afterFallbackSignIn(user: User, greeting: string, asked: Rollout | null, options: { automaticUpgrade?: boolean } = {}): Promise<void> {
  signedInUser = user;
  rollout = asked;
  messages.status(greeting);
  if (isRestricted(asked)) {
    showRestricted(user, asked.since);
    return;
  }
  if (options.automaticUpgrade && passkeysWork) {
    const created = await upgradeToPasskeyAutomatically(user.username);
    if (created) {
      await signalAcceptedPasskeys(user);
      setFlash('Your password manager saved a passkey for this account. Next time, sign in with it: no code to type.');
      goOn();
      return;
    }
  }
  const invited = asked !== null && 'invite' in asked;
  if (passkeysWork && (await deviceCanCreatePasskey()) && (invited || !(await hasPasskey()))) {
    const deadline = byId('invite-deadline');
    const daysLeft = invited ? asked.daysLeft : null;
    deadline.hidden = daysLeft === null;
    if (invited && daysLeft !== null && asked.deadline) {
      deadline.textContent = `Your organization requires a passkey from ${formatDate(asked.deadline)}: ${daysLeft === 1 ? '1 day' : `${daysLeft} days`} left.`;
    }
    showView('invite');
    return;
  }
  goOn();
}

/** The organization requires a passkey and the deadline passed: say why, and offer only adding one or signing out. */
function showRestricted(user: User, since: string | null): void {
  signedInUser = user;
  messages.clear();
  byId('restricted-why').textContent = since
    ? `Your organization requires a passkey to sign in since ${formatDate(since)}.`
    : 'Your organization requires a passkey to sign in.';
  byId('restricted-add').hidden = !passkeysWork;
  showView('restricted');
  if (!passkeysWork) messages.error('This browser cannot make passkeys. Sign out, and sign in from a browser or device that can.');
}

byId('restricted-add').addEventListener('click', async (event) => {
  if (await addPasskeyFrom(event.currentTarget as HTMLButtonElement)) goOn();
});
byId('restricted-sign-out').addEventListener('click', async (event) => {
  await withBusy(event.currentTarget as HTMLButtonElement, 'Signing out…', async () => {
    try {
      await del('/api/session', { redirectOnUnauthenticated: false });
    } catch {
      // Signed out already, or unreachable: the page starts over either way.
    }
    signedInUser = null;
    rollout = null;
    messages.clear();
    showView('passkey');
    messages.status('Signed out.');
  });
});

async function addPasskeyFrom(button: HTMLButtonElement): Promise<boolean> {
  if (!signedInUser) return false;
  const user = signedInUser;
  messages.status('Follow the prompt from your browser or device.');
  return withBusy(button, 'Waiting for your device…', async () => {
    try {
      await addPasskey(user.username);
      await signalAcceptedPasskeys(user);
      setFlash('Passkey added. Next time, choose it when you sign in.');
      return true;
    } catch (error) {
      if (error instanceof ApiError) messages.error(messageOf(error));
      else messages.error(passkeyErrorMessage(error, 'create'));
      return false;
    }
  });
}

byId('invite-add').addEventListener('click', async (event) => {
  if (await addPasskeyFrom(event.currentTarget as HTMLButtonElement)) goOn();
});
byId('invite-skip').addEventListener('click', async () => {
  // The organization's invitation: "Not now" is remembered, and it comes back after a while.
  if (rollout && 'invite' in rollout) await del('/api/session/passkey-invitation', { redirectOnUnauthenticated: false }).catch(() => undefined);
  goOn();
});

async function showRecovered(user: User, remaining: number | null): Promise<void> {
  messages.clear();
  const left = byId('codes-left');
  left.textContent = remaining === null
    ? 'Your backup code worked.'
    : remaining === 0
      ? 'That was your last backup code. Create new ones now so you can still get in if you lose your phone.'
      : `You have ${remaining} backup ${remaining === 1 ? 'code' : 'codes'} left.${remaining <= 3 ? ' Create new ones soon.' : ''}`;
  left.classList.toggle('warning', remaining !== null && remaining <= 3);
  const canAdd = passkeysWork && (await deviceCanCreatePasskey()) && !(await hasPasskey());
  byId('recovered-add-passkey').hidden = !canAdd;
  showView('recovered');
  messages.status(`Signed in as ${user.username} with a backup code.`);
}

byId('regenerate').addEventListener('click', async (event) => {
  if (!signedInUser) return;
  const user = signedInUser;
  await withBusy(event.currentTarget as HTMLButtonElement, 'Creating…', async () => {
    try {
      const { codes } = await post<{ codes: string[] }>('/api/factors/backup-codes', {}, { purpose: 'create new backup codes' });
      byId('recovered-actions').hidden = true;
      const container = byId('new-codes');
      container.hidden = false;
      renderBackupCodes(container, codes, {
        username: user.username,
        continueLabel: 'Continue to your account',
        onContinue: goOn,
        announce: (message) => messages.status(message),
      });
      byId('codes-left').textContent = 'Your old backup codes no longer work. Here are your new ones.';
      byId('codes-left').classList.remove('warning');
      messages.status('New backup codes created.');
      byId('recovered-title').focus();
    } catch (error) {
      messages.error(messageOf(error));
    }
  });
});

byId('recovered-add-passkey').addEventListener('click', async (event) => {
  const button = event.currentTarget as HTMLButtonElement;
  if (await addPasskeyFrom(button)) {
    button.hidden = true;
    messages.status('Passkey added. Next time, choose it when you sign in.');
  }
});
byId('recovered-continue').addEventListener('click', goOn);
// Lost the phone: a backup code got the user in; the account page sets up (or replaces) the app.
byId('recovered-new-phone').addEventListener('click', () => {
  showView('done');
  location.assign('/account#new-phone');
});

// ——— Lost every way to sign in (self-service recovery, when the server offers it) ———

/** Shows the "Lost every way to sign in?" link only where the server has LATCH_SELF_RECOVERY=email. */
async function offerSelfRecovery(): Promise<void> {
  const answer = await get<{ offered: boolean; waitHours: number | null }>('/api/recovery/self', { stepUp: false, redirectOnUnauthenticated: false }).catch(() => null);
  if (!answer?.offered) return;
  if (answer.waitHours) byId('lost-wait').textContent = answer.waitHours % 24 === 0 ? ` of ${answer.waitHours / 24} day${answer.waitHours === 24 ? '' : 's'}` : ` of ${answer.waitHours} hour${answer.waitHours === 1 ? '' : 's'}`;
  byId('lost-link').hidden = false;
}

byId('to-lost').addEventListener('click', () => {
  const typed = byId<HTMLInputElement>('username').value.trim() || byId<HTMLInputElement>('pw-username').value.trim();
  const field = byId<HTMLInputElement>('lost-identifier');
  if (typed && !field.value) field.value = typed;
  messages.clear();
  showView('lost');
});

byId('lost-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const field = byId<HTMLInputElement>('lost-identifier');
  const identifier = field.value.trim();
  if (!identifier) {
    messages.error('Enter your username or email address.', field);
    field.focus();
    return;
  }
  await withBusy(byId<HTMLButtonElement>('lost-submit'), 'Sending…', async () => {
    try {
      // The answer is the same whether or not the account exists, and so is what this page says.
      await post('/api/recovery/self', { identifier }, { stepUp: false, redirectOnUnauthenticated: false });
      messages.clear();
      field.value = '';
      showView('lost-sent');
    } catch (error) {
      messages.error(messageOf(error));
    }
  });
});

for (const button of document.querySelectorAll('[data-action="back-to-sign-in"]')) {
  button.addEventListener('click', () => {
    messages.clear();
    if (passkeysWork) {
      showView('passkey');
      void startAutofill();
    } else showView('password');
  });
}

// ——— Start ———

async function start(): Promise<void> {
  installStepUp();
  void offerSelfRecovery();
  const flash = takeFlash();
  // The passkey view is on screen from the HTML on, its buttons live: on a slow network the user
  // may choose another way in before the session check answers, and that choice stands.
  const viewAtStart = document.body.dataset.currentView;
  const existing = await currentSession().catch(() => null);
  const chosenMeanwhile = document.body.dataset.currentView !== viewAtStart;
  if (existing && isRestricted(existing.rollout)) {
    // A reload of a restricted session: the requirement again, not the account.
    showRestricted(existing.user, existing.rollout.since);
    return;
  }
  if (existing) {
    location.replace(nextPath());
    return;
  }
  if (!passkeysWork) {
    // No WebAuthn here at all: go straight to the fallback and say why.
    byId('no-webauthn').hidden = false;
    byId('back-to-passkey').hidden = true;
    if (!chosenMeanwhile) showView('password', { focus: false });
    if (flash) messages.status(flash);
    return;
  }
  if (flash) messages.status(flash);
  if (chosenMeanwhile) return; // going back to the passkey view starts autofill then
  showView('passkey', { focus: false });
  void startAutofill();
}

void start();
