/**
 * Account security: passkeys, authenticator app, backup codes, password, remembered browsers,
 * sessions and recent activity. Sensitive actions may ask for a step-up; the dialog handles it
 * and the action then goes through (api.ts).
 */
import { describeEvent } from './activity.ts';
import {
  ApiError,
  currentSession,
  del,
  get,
  isRestricted,
  listFactors,
  messageOf,
  patch,
  post,
  setUnauthenticatedHandler,
  StepUpCancelled,
  type AuditEvent,
  type Factor,
  type RememberedDevice,
  type SessionInfo,
  type User,
} from './api.ts';
import { renderBackupCodes } from './backup-codes.ts';
import { renderEmailPanel } from './email.ts';
import { confirmAction } from './confirm.ts';
import { addPasskey, signalAcceptedPasskeys } from './passkeys.ts';
import { defaultRpId, knownUserHandle, signalCurrentUserDetails } from './signal.ts';
import { installStepUp } from './stepup.ts';
import { renderTotpSetup, type TotpEnrollment } from './totp-setup.ts';
import { byId, describeUserAgent, formatDateTime, formatDay, h, messageRegions, pageMessages, setFlash, takeFlash, timeElement, withBusy, type Messages } from './ui.ts';
import { passkeyErrorMessage, supportsPasskeys } from './webauthn.ts';

/** For the page as a whole (loading, a message carried from another page). */
const messages = pageMessages();
const passkeysWork = supportsPasskeys();
let user: User;
let factors: Factor[] = [];

/**
 * Each panel has its own message area, right under its heading: a result shows beside the list
 * it is about, not a page away at the top.
 */
interface Panel {
  messages: Messages;
  /** After the panel's content was re-rendered (the pressed button is gone): focus its heading, keep the message in view. */
  refocus(): void;
}

function panel(sectionId: string): Panel {
  const section = byId(sectionId);
  const regions = messageRegions(sectionId);
  section.querySelector('.panel-head')!.after(regions.error, regions.status);
  const heading = section.querySelector<HTMLElement>('h2')!;
  return {
    messages: regions.messages,
    refocus() {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
      heading.scrollIntoView({ block: 'nearest' });
      const shown = regions.error.hidden ? regions.status : regions.error;
      shown.scrollIntoView({ block: 'nearest' });
    },
  };
}

const panels = {
  passkeys: panel('passkeys'),
  totp: panel('authenticator'),
  codes: panel('backup'),
  password: panel('password'),
  devices: panel('remembered'),
  sessions: panel('sessions'),
  activity: panel('activity'),
};

/** Whether these factors can sign in on their own (the server's rule, src/factors/factors.ts canSignIn). */
function canSignIn(list: Factor[]): boolean {
  const kinds = new Set(list.map((factor) => factor.kind));
  return kinds.has('passkey') || (kinds.has('password') && (kinds.has('totp') || kinds.has('backup_codes')));
}

function lastWayInMessage(factor: Factor): string {
  const what = factor.kind === 'passkey' ? 'passkey' : 'authenticator app';
  return `You can't remove this ${what}: without it you couldn't sign in. Add another passkey, or a password with an authenticator app or backup codes, first.`;
}

/** Errors from an action, in the panel it came from: a cancelled step-up is quiet; the rest are announced. */
function report(messages: Messages, error: unknown, during?: 'create' | 'use'): void {
  if (error instanceof StepUpCancelled) {
    messages.status('Cancelled. Nothing was changed.');
    return;
  }
  if (!(error instanceof ApiError) && during) {
    messages.error(passkeyErrorMessage(error, during));
    return;
  }
  if (error instanceof ApiError && error.code === 'forbidden') {
    messages.error("This needs a passkey or an authenticator code to confirm it's you, and you have neither that can do it here. Sign in with your strongest way, then try again.");
    return;
  }
  if (error instanceof ApiError && error.code === 'last_factor') {
    messages.error("You can't remove this: it's your last way to sign in. Add another way first, then try again.");
    return;
  }
  messages.error(messageOf(error));
}

function goToSignIn(message: string): void {
  setFlash(message);
  location.assign('/');
}

/** Words for screen readers only, after a button's visible ones: which item the button acts on. */
function hiddenWords(text: string): HTMLElement {
  return h('span', { class: 'visually-hidden' }, text);
}

/** The same names made distinct ("…", "… (2)"), so two like sessions' buttons still differ. */
function distinctNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    return count === 1 ? name : `${name} (${count})`;
  });
}

function meta(...parts: Array<Node | string | null | false>): HTMLElement {
  return h('p', { class: 'item-meta' }, ...parts.filter((part): part is Node | string => Boolean(part)).map((part) => h('span', {}, part)));
}

/** "Last used 2 Nov" or "Not used yet". */
function lastUsed(iso: string | null): Node {
  return iso ? labelled('Last used', timeElement(iso)) : document.createTextNode('Not used yet');
}

function labelled(prefix: string, node: Node): DocumentFragment {
  const fragment = document.createDocumentFragment();
  fragment.append(`${prefix} `, node);
  return fragment;
}

// ——— Passkeys ———

function passkeyName(factor: Factor): string {
  return factor.label || factor.authenticatorName || 'Passkey';
}

function renderPasskeys(): void {
  const list = byId('passkey-list');
  const passkeys = factors.filter((factor) => factor.kind === 'passkey');
  if (passkeys.length === 0) {
    list.replaceChildren(h('li', { class: 'empty' }, passkeysWork
      ? 'No passkeys yet. Add one to sign in with a tap, with nothing to type.'
      : 'No passkeys yet.'));
    return;
  }
  const names = distinctNames(passkeys.map(passkeyName));
  list.replaceChildren(...passkeys.map((factor, index) => {
    const name = passkeyName(factor);
    const rename = h('button', { type: 'button', class: 'button button-secondary button-small' }, 'Rename', hiddenWords(` ${names[index]}`));
    const remove = h('button', { type: 'button', class: 'button button-danger-quiet button-small' }, 'Remove', hiddenWords(` ${names[index]}`));
    const main = h('div', { class: 'item-main' },
      h('p', { class: 'item-title' }, name,
        h('span', { class: factor.synced ? 'badge' : 'badge badge-neutral' }, factor.synced ? 'Synced' : 'This device only')),
      meta(
        factor.label && factor.authenticatorName && factor.authenticatorName !== factor.label ? factor.authenticatorName : null,
        factor.synced ? 'Backed up to your password manager' : 'Stays on one device or security key',
        labelled('Added', timeElement(factor.createdAt, formatDay)),
        lastUsed(factor.lastUsedAt),
      ),
    );
    const actions = h('div', { class: 'item-actions' }, rename, remove);
    if (factor.flagged) {
      // Refused at sign-in: it may have been copied. The owner removes it, or vouches for it.
      main.append(h('p', { class: 'notice', 'data-flagged': 'true' },
        'Warning: this passkey was used in a way that suggests it may have been copied, so it is blocked. ' +
        "If you don't recognise the recent activity, remove it. If it was you (for example, you restored your device from a backup), clear the warning."));
      const clear = h('button', { type: 'button', class: 'button button-secondary button-small' }, 'This was me – clear warning', hiddenWords(` on ${names[index]}`));
      clear.addEventListener('click', () => void withBusy(clear, 'Clearing…', async () => {
        try {
          await post(`/api/factors/passkeys/${factor.id}/clear-flag`, {}, { purpose: 'clear the warning on this passkey' });
          await refreshFactors();
          panels.passkeys.messages.status(`“${name}” can sign in again.`);
          panels.passkeys.refocus();
          void refreshActivity();
        } catch (error) {
          report(panels.passkeys.messages, error);
        }
      }));
      actions.prepend(clear);
    }
    const item = h('li', { class: 'item', 'data-factor-id': factor.id, 'data-kind': 'passkey' }, main, actions);
    rename.addEventListener('click', () => showRename(main, factor, rename));
    remove.addEventListener('click', () => void removeFactor(factor, remove, {
      title: `Remove “${name}”?`,
      body: "You won't be able to sign in with this passkey any more. You can add it again later.",
      confirmLabel: 'Remove passkey',
      purpose: 'remove this passkey',
      done: 'Passkey removed.',
    }));
    return item;
  }));
}

function showRename(container: HTMLElement, factor: Factor, trigger: HTMLButtonElement, options: { justAdded?: boolean } = {}): void {
  if (container.querySelector('form')) return;
  const inputId = `rename-${factor.id}`;
  const input = h('input', { id: inputId, class: 'input', type: 'text', maxlength: '64', value: passkeyName(factor), required: true, autocomplete: 'off' });
  const save = h('button', { type: 'submit', class: 'button button-primary button-small' }, 'Save');
  const cancel = h('button', { type: 'button', class: 'button button-quiet button-small' }, 'Cancel');
  // Right after adding one, the name is asked for (optional: the suggested one stays if kept).
  const hint = options.justAdded ? h('p', { class: 'hint', id: `${inputId}-hint` }, 'Give it a name you will recognise, or keep this one.') : null;
  if (hint) input.setAttribute('aria-describedby', hint.id);
  if (options.justAdded) cancel.textContent = 'Keep this name';
  const form = h('form', { class: 'rename-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: inputId }, 'Passkey name'), hint, input), save, cancel);
  const close = () => {
    form.remove();
    trigger.focus();
  };
  cancel.addEventListener('click', close);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const label = input.value.trim();
    if (!label) {
      panels.passkeys.messages.error('Give the passkey a name, like "Work laptop".', input);
      input.focus();
      return;
    }
    await withBusy(save, 'Saving…', async () => {
      try {
        await patch(`/api/factors/${factor.id}`, { label }, { purpose: 'rename this passkey' });
        // The password manager shows the account's current name beside the passkey.
        await signalCurrentUserDetails(defaultRpId(), user.webauthnUserId ?? knownUserHandle(user.username), user.username, user.displayName ?? user.username);
        await refreshFactors();
        panels.passkeys.messages.status(`Renamed to “${label}”.`);
        panels.passkeys.refocus();
        void refreshActivity();
      } catch (error) {
        report(panels.passkeys.messages, error);
      }
    });
  });
  container.append(form);
  input.focus();
  input.select();
}

byId('add-passkey').addEventListener('click', async (event) => {
  const button = event.currentTarget as HTMLButtonElement;
  panels.passkeys.messages.status('Follow the prompt from your browser or device.');
  await withBusy(button, 'Waiting for your device…', async () => {
    try {
      const added = await addPasskey(user.username);
      await refreshFactors();
      await signalAcceptedPasskeys(user, factors);
      panels.passkeys.messages.status('Passkey added. Next time, choose it when you sign in.');
      // Ask for a name now, while the user knows which device it is.
      const item = byId('passkey-list').querySelector<HTMLElement>(`[data-factor-id="${CSS.escape(added.id)}"]`);
      const factor = factors.find((candidate) => candidate.id === added.id);
      const rename = item?.querySelector<HTMLButtonElement>('button');
      if (item && factor && rename) showRename(item.querySelector('.item-main')!, factor, rename, { justAdded: true });
      void refreshActivity();
    } catch (error) {
      report(panels.passkeys.messages, error, 'create');
    }
  });
});

async function removeFactor(
  factor: Factor,
  trigger: HTMLButtonElement,
  copy: { title: string; body: string; confirmLabel: string; purpose: string; done: string },
): Promise<void> {
  const where = factor.kind === 'passkey' ? panels.passkeys : panels.totp;
  // Refused before asking "are you sure?", not after: the same rule the server applies.
  const remaining = factors.filter((candidate) => candidate.id !== factor.id);
  if (canSignIn(factors) && !canSignIn(remaining)) {
    where.messages.error(lastWayInMessage(factor));
    return;
  }
  if (!(await confirmAction({ title: copy.title, body: copy.body, confirmLabel: copy.confirmLabel, danger: true }))) return;
  await withBusy(trigger, 'Removing…', async () => {
    try {
      const result = await del<{ signedOut?: boolean } | undefined>(`/api/factors/${factor.id}`, { purpose: copy.purpose });
      if (result?.signedOut) {
        goToSignIn(`${copy.done} You signed in with it, so you've been signed out. Sign in another way.`);
        return;
      }
      await refreshFactors();
      if (factor.kind === 'passkey') await signalAcceptedPasskeys(user, factors);
      where.messages.status(copy.done);
      where.refocus();
      void refreshSessions();
      void refreshActivity();
    } catch (error) {
      report(where.messages, error);
    }
  });
}

// ——— Authenticator app ———

function renderTotp(): void {
  const body = byId('totp-body');
  const totp = factors.find((factor) => factor.kind === 'totp');
  const hasPassword = factors.some((factor) => factor.kind === 'password');
  if (totp) {
    const remove = h('button', { type: 'button', class: 'button button-danger-quiet button-small' }, 'Remove');
    remove.addEventListener('click', () => void removeFactor(totp, remove, {
      title: 'Remove your authenticator app?',
      body: 'Codes from the app will stop working for Latch. You can set it up again later.',
      confirmLabel: 'Remove app',
      purpose: 'remove your authenticator app',
      done: 'Authenticator app removed.',
    }));
    // A new phone: the new app is set up and confirmed first; only then does the old one stop.
    const replace = h('button', { type: 'button', class: 'button button-secondary button-small', id: 'replace-totp' }, 'Replace', hiddenWords(' (new phone)'));
    replace.addEventListener('click', () => void startTotpSetup(replace, { replace: true }));
    body.replaceChildren(h('ul', { class: 'items' }, h('li', { class: 'item', 'data-kind': 'totp' },
      h('div', { class: 'item-main' },
        h('p', { class: 'item-title' }, totp.label || 'Authenticator app', h('span', { class: 'badge badge-success' }, 'On')),
        meta(labelled('Set up', timeElement(totp.createdAt, formatDay)), lastUsed(totp.lastUsedAt))),
      h('div', { class: 'item-actions' }, replace, remove))));
    return;
  }
  const setUp = h('button', { type: 'button', class: 'button button-secondary button-small', id: 'setup-totp' }, 'Set up authenticator app');
  setUp.addEventListener('click', () => void startTotpSetup(setUp));
  body.replaceChildren(
    h('p', { class: 'empty' }, 'Not set up.'),
    !hasPassword ? h('p', { class: 'hint' }, "To sign in with codes from the app you'll also need a password; you can set one below.") : '',
    setUp,
  );
}

async function startTotpSetup(button: HTMLButtonElement, options: { replace?: boolean } = {}): Promise<void> {
  await withBusy(button, 'Preparing…', async () => {
    try {
      const enrollment = options.replace
        ? await post<TotpEnrollment>('/api/factors/totp/replace', {}, { purpose: 'replace your authenticator app' })
        : await post<TotpEnrollment>('/api/factors/totp/setup', {}, { purpose: 'set up an authenticator app' });
      const container = byId('totp-body');
      const area = h('div', {});
      const cancel = h('button', { type: 'button', class: 'button button-quiet button-small' }, 'Cancel');
      cancel.addEventListener('click', () => {
        renderTotp();
        panels.totp.messages.status(options.replace ? 'Cancelled. Your current app still works.' : 'Setup cancelled.');
        byId(options.replace ? 'replace-totp' : 'setup-totp').focus();
      });
      container.replaceChildren(area, cancel);
      renderTotpSetup(area, enrollment, {
        idPrefix: 'account-totp',
        messages: panels.totp.messages,
        submitLabel: options.replace ? 'Switch to this app' : 'Turn on',
        intro: options.replace ? 'On your new phone: your current app keeps working until this one is confirmed.' : undefined,
        confirm: async (ceremonyId, code) => {
          const { backupCodes } = await post<{ factor: Factor; backupCodes?: string[] }>(
            '/api/factors/totp/verify', { ceremonyId, code }, { purpose: 'set up an authenticator app' });
          await refreshFactors();
          panels.totp.messages.status(options.replace ? 'Authenticator app replaced. Codes from the old one no longer work.' : 'Authenticator app set up.');
          if (backupCodes && backupCodes.length > 0) showNewCodes(backupCodes);
          void refreshActivity();
        },
      });
      byId<HTMLInputElement>('account-totp-code').focus();
    } catch (error) {
      report(panels.totp.messages, error);
    }
  });
}

// ——— Backup codes ———

function renderCodes(): void {
  const body = byId('codes-body');
  const set = factors.find((factor) => factor.kind === 'backup_codes');
  const create = h('button', { type: 'button', class: 'button button-secondary button-small', id: 'regenerate-codes' }, set ? 'Create new codes' : 'Create backup codes');
  create.addEventListener('click', () => void regenerateCodes(create, Boolean(set)));
  const hasPassword = factors.some((factor) => factor.kind === 'password');
  const needsPassword = hasPassword ? '' : h('p', { class: 'hint' }, 'A backup code is used with your password; you can set one below.');
  if (!set) {
    body.replaceChildren(h('p', { class: 'empty' }, "You don't have backup codes."), needsPassword, create);
    return;
  }
  const remaining = set.remaining ?? 0;
  const total = set.total ?? remaining;
  body.replaceChildren(
    h('p', { class: remaining <= 3 ? 'warning' : '', id: 'codes-remaining' },
      `${remaining} of ${total} codes left.`, remaining <= 3 ? ' Create new ones soon.' : ''),
    h('p', { class: 'hint' }, h('span', {}, 'Created '), timeElement(set.createdAt, formatDay), '.'),
    create,
  );
}

async function regenerateCodes(button: HTMLButtonElement, replacing: boolean): Promise<void> {
  if (replacing && !(await confirmAction({
    title: 'Create new backup codes?',
    body: 'Your current backup codes will stop working straight away.',
    confirmLabel: 'Create new codes',
  }))) return;
  await withBusy(button, 'Creating…', async () => {
    try {
      const { codes } = await post<{ codes: string[] }>('/api/factors/backup-codes', {}, { purpose: 'create new backup codes' });
      await refreshFactors();
      showNewCodes(codes);
      panels.codes.messages.status('New backup codes created. Your old codes no longer work.');
      void refreshActivity();
    } catch (error) {
      report(panels.codes.messages, error);
    }
  });
}

function showNewCodes(codes: string[]): void {
  const body = byId('codes-body');
  renderBackupCodes(body, codes, {
    username: user.username,
    continueLabel: 'Done',
    onContinue: () => {
      renderCodes();
      byId('codes-title').focus();
    },
    announce: (message) => panels.codes.messages.status(message),
  });
  byId('codes-title').tabIndex = -1;
  byId('codes-title').focus();
}

// ——— Password ———

function renderPassword(): void {
  const body = byId('password-body');
  const password = factors.find((factor) => factor.kind === 'password');
  const open = h('button', { type: 'button', class: 'button button-secondary button-small', id: 'change-password' }, password ? 'Change password' : 'Set a password');
  open.addEventListener('click', () => showPasswordForm(Boolean(password)));
  body.replaceChildren(
    password
      ? h('p', {}, h('span', {}, 'Set '), timeElement(password.createdAt, formatDay), '.')
      : h('p', { class: 'empty' }, "No password. With a passkey you don't need one."),
    open,
  );
}

function showPasswordForm(changing: boolean): void {
  const body = byId('password-body');
  const input = h('input', { id: 'new-password', class: 'input', type: 'password', autocomplete: 'new-password', required: true, 'aria-describedby': 'new-password-hint' });
  const again = h('input', { id: 'new-password-again', class: 'input', type: 'password', autocomplete: 'new-password', required: true });
  const save = h('button', { type: 'submit', class: 'button button-primary button-small' }, changing ? 'Change password' : 'Set password');
  const cancel = h('button', { type: 'button', class: 'button button-quiet button-small' }, 'Cancel');
  const form = h('form', { class: 'stack', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'new-password' }, 'New password'),
      h('p', { class: 'hint', id: 'new-password-hint' }, 'At least 8 characters. A long phrase is easy to remember and hard to guess.'), input),
    h('div', { class: 'field' }, h('label', { for: 'new-password-again' }, 'New password again'), again),
    h('div', { class: 'button-row' }, save, cancel));
  cancel.addEventListener('click', () => {
    renderPassword();
    byId<HTMLButtonElement>('change-password').focus();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!input.value) {
      panels.password.messages.error('Enter a new password.', input);
      input.focus();
      return;
    }
    if (input.value !== again.value) {
      panels.password.messages.error("The two passwords don't match.", again);
      again.focus();
      return;
    }
    await withBusy(save, 'Saving…', async () => {
      try {
        const answer = await post<{ endedSessions?: number }>('/api/factors/password', { newPassword: input.value }, { purpose: changing ? 'change your password' : 'set a password' });
        await refreshFactors();
        const ended = answer?.endedSessions ?? 0;
        panels.password.messages.status(changing
          ? `Password changed.${ended > 0 ? ` Your other ${ended === 1 ? 'session was' : `${ended} sessions were`} signed out.` : ''}`
          : 'Password set.');
        byId('change-password').focus();
        void refreshDevices();
        void refreshSessions();
        void refreshActivity();
      } catch (error) {
        if (error instanceof ApiError && error.code === 'weak_password') panels.password.messages.error(messageOf(error), input);
        else report(panels.password.messages, error);
      }
    });
  });
  body.replaceChildren(form);
  input.focus();
}

// ——— Remembered browsers ———

async function refreshDevices(): Promise<void> {
  let devices: RememberedDevice[] = [];
  try {
    const answer = await get<RememberedDevice[] | { devices?: RememberedDevice[]; rememberedDevices?: RememberedDevice[] }>('/api/remembered-devices');
    devices = Array.isArray(answer) ? answer : (answer.devices ?? answer.rememberedDevices ?? []);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      byId('remembered').hidden = true; // not on this server yet
      return;
    }
    throw error;
  }
  byId('forget-all').hidden = devices.length < 2;
  const list = byId('device-list');
  if (devices.length === 0) {
    list.replaceChildren(h('li', { class: 'empty' }, 'No remembered browsers.'));
    return;
  }
  list.replaceChildren(...devices.map((device) => {
    const name = device.label || device.browser || describeUserAgent(device.userAgent);
    const forget = h('button', { type: 'button', class: 'button button-danger-quiet button-small' }, 'Forget', hiddenWords(` ${name}`));
    forget.addEventListener('click', async () => {
      await withBusy(forget, 'Forgetting…', async () => {
        try {
          await del(`/api/remembered-devices/${device.id}`, { purpose: 'forget this browser' });
          panels.devices.messages.status(`${name} will ask for a code next time.`);
          await refreshDevices();
          panels.devices.refocus();
          void refreshActivity();
        } catch (error) {
          report(panels.devices.messages, error);
        }
      });
    });
    return h('li', { class: 'item' },
      h('div', { class: 'item-main' },
        h('p', { class: 'item-title' }, name, device.current ? h('span', { class: 'badge' }, 'This browser') : ''),
        meta(
          device.createdAt ? labelled('Remembered', timeElement(device.createdAt, formatDay)) : null,
          device.lastUsedAt ? labelled('Last used', timeElement(device.lastUsedAt)) : null,
          device.expiresAt ? labelled('Until', timeElement(device.expiresAt, formatDay)) : null,
          device.clientAddress ?? null,
        )),
      h('div', { class: 'item-actions' }, forget));
  }));
}

byId('forget-all').addEventListener('click', async (event) => {
  const button = event.currentTarget as HTMLButtonElement;
  if (!(await confirmAction({ title: 'Forget all browsers?', body: 'Every browser will ask for a code again at the next sign-in.', confirmLabel: 'Forget all', danger: true }))) return;
  await withBusy(button, 'Forgetting…', async () => {
    try {
      await del('/api/remembered-devices', { purpose: 'forget all remembered browsers' });
      panels.devices.messages.status('All browsers forgotten. Each will ask for a code next time.');
      await refreshDevices();
      panels.devices.refocus();
      void refreshActivity();
    } catch (error) {
      report(panels.devices.messages, error);
    }
  });
});

// ——— Sessions ———

function signedInWith(session: SessionInfo): string | null {
  const amr = session.amr ?? [];
  if (amr.includes('passkey')) return 'Passkey';
  if (amr.includes('backup_code')) return 'Backup code';
  if (amr.includes('remembered_device')) return 'Password on a remembered browser';
  if (amr.includes('otp')) return 'Password and code';
  return null;
}

async function refreshSessions(): Promise<void> {
  const { sessions } = await get<{ sessions: SessionInfo[] }>('/api/sessions');
  sessions.sort((a, b) => Number(Boolean(b.current)) - Number(Boolean(a.current)) || b.lastSeenAt.localeCompare(a.lastSeenAt));
  byId('end-others').hidden = sessions.filter((session) => !session.current).length === 0;
  const names = distinctNames(sessions.map((session) => `${describeUserAgent(session.userAgent)}, signed in ${formatDateTime(session.createdAt)}`));
  byId('session-list').replaceChildren(...sessions.map((session, index) => {
    const device = describeUserAgent(session.userAgent);
    const actions = h('div', { class: 'item-actions' });
    if (!session.current) {
      // The accessible name starts with the visible words and says which session (axe label-content-name-mismatch).
      const end = h('button', { type: 'button', class: 'button button-danger-quiet button-small' },
        'End session', h('span', { class: 'visually-hidden' }, ` on ${names[index]}`));
      end.addEventListener('click', async () => {
        await withBusy(end, 'Ending…', async () => {
          try {
            await del(`/api/sessions/${session.id}`, { purpose: 'end this session' });
            panels.sessions.messages.status(`Signed out ${device}.`);
            await refreshSessions();
            panels.sessions.refocus();
            void refreshActivity();
          } catch (error) {
            report(panels.sessions.messages, error);
          }
        });
      });
      actions.append(end);
    }
    const how = signedInWith(session);
    return h('li', { class: 'item', 'data-session-id': session.id, 'data-current': session.current ? 'true' : 'false' },
      h('div', { class: 'item-main' },
        h('p', { class: 'item-title' }, device, session.current ? h('span', { class: 'badge' }, 'This browser') : ''),
        meta(
          session.clientAddress ?? 'Unknown address',
          how,
          labelled('Signed in', timeElement(session.createdAt)),
          labelled('Last seen', timeElement(session.lastSeenAt)),
        )),
      actions);
  }));
}

byId('end-others').addEventListener('click', async (event) => {
  const button = event.currentTarget as HTMLButtonElement;
  if (!(await confirmAction({ title: 'Sign out everywhere else?', body: 'Every other browser and device will be signed out. This one stays signed in.', confirmLabel: 'Sign out others', danger: true }))) return;
  await withBusy(button, 'Signing out…', async () => {
    try {
      const { ended } = await post<{ ended: number }>('/api/sessions/revoke-others', {}, { purpose: 'sign out your other sessions' });
      panels.sessions.messages.status(ended === 1 ? 'Signed out 1 other session.' : `Signed out ${ended} other sessions.`);
      await refreshSessions();
      panels.sessions.refocus();
      void refreshActivity();
    } catch (error) {
      report(panels.sessions.messages, error);
    }
  });
});

// ——— Activity ———

let nextBefore: string | null = null;

function renderEvents(events: AuditEvent[], append: boolean): void {
  const list = byId('activity-list');
  const shown = events.flatMap((event) => {
    const text = describeEvent(event);
    return text === null ? [] : [{ event, text }];
  });
  const items = shown.map(({ event, text }) => h('li', {},
    h('span', { class: event.outcome === 'success' ? 'what' : 'what failed' }, text,
      event.outcome !== 'success' ? h('span', { class: 'badge badge-danger' }, event.outcome === 'denied' ? 'Refused' : 'Failed') : ''),
    h('span', { class: 'when' }, timeElement(event.occurredAt), event.clientAddress ? ` · ${event.clientAddress}` : '')));
  if (append) list.append(...items);
  else list.replaceChildren(...(items.length > 0 ? items : [h('li', { class: 'empty' }, 'Nothing yet.')]));
}

/** The newest events, or with `older` the page after the last one shown. */
async function loadActivity(older: boolean): Promise<void> {
  const query = older && nextBefore ? `&before=${encodeURIComponent(nextBefore)}` : '';
  const page = await get<{ events: AuditEvent[]; nextBefore: string | null }>(`/api/audit?limit=25${query}`);
  nextBefore = page.nextBefore;
  renderEvents(page.events, older);
  byId('more-activity').hidden = !nextBefore;
}

async function refreshActivity(): Promise<void> {
  await loadActivity(false).catch((error: unknown) => report(panels.activity.messages, error));
}

byId('more-activity').addEventListener('click', async (event) => {
  if (!nextBefore) return;
  await withBusy(event.currentTarget as HTMLButtonElement, 'Loading…', () => loadActivity(true).catch((error: unknown) => report(panels.activity.messages, error)));
});

// ——— Sign out, start ———

byId('sign-out').addEventListener('click', async (event) => {
  await withBusy(event.currentTarget as HTMLButtonElement, 'Signing out…', async () => {
    try {
      await del('/api/session', { redirectOnUnauthenticated: false });
    } catch {
      // Already signed out: the outcome is the same.
    }
    goToSignIn("You've signed out.");
  });
});

/**
 * One device-bound passkey and nothing else that can sign in: one lost phone from losing the
 * account. Said plainly while it is true (right after a passkey sign-up too, which lands here).
 */
function renderSingleWayIn(): void {
  const passkeys = factors.filter((factor) => factor.kind === 'passkey');
  const has = (kind: Factor['kind']) => factors.some((factor) => factor.kind === kind);
  const fallback = has('password') && (has('totp') || has('backup_codes'));
  const single = passkeys.length === 1 && !passkeys[0]!.synced && !fallback;
  byId('single-way-in').hidden = !single;
  if (!single) {
    byId('single-way-in-actions').replaceChildren();
    return;
  }
  // The next steps as buttons, not only words: each starts what it says.
  const actions: HTMLButtonElement[] = [];
  const action = (label: string, run: () => void) => {
    const button = h('button', { type: 'button', class: 'button button-secondary button-small' }, label);
    button.addEventListener('click', run);
    actions.push(button);
  };
  if (passkeysWork) action('Add another passkey', () => byId<HTMLButtonElement>('add-passkey').click());
  if (!has('password')) {
    action('Set a password', () => {
      byId('password').scrollIntoView({ block: 'start' });
      showPasswordForm(false);
    });
  } else if (!has('totp')) {
    action('Set up authenticator app', () => {
      byId('authenticator').scrollIntoView({ block: 'start' });
      byId<HTMLButtonElement>('setup-totp').click();
    });
  }
  if (has('password') && !has('backup_codes')) {
    action('Create backup codes', () => {
      byId('backup').scrollIntoView({ block: 'start' });
      byId<HTMLButtonElement>('regenerate-codes').click();
    });
  }
  byId('single-way-in-next').textContent = has('password')
    ? 'Next: add an authenticator app or backup codes to go with your password' + (passkeysWork ? ', or a second passkey on another device.' : '.')
    : passkeysWork
      ? 'Add a second passkey on another device or in your password manager, or set a password and then an authenticator app or backup codes.'
      : 'Set a password and then an authenticator app or backup codes, or add a second passkey from a browser that can use passkeys.';
  byId('single-way-in-actions').replaceChildren(...actions);
}

interface PendingRecovery {
  id: string;
  mode: 'admin' | 'self';
  status: 'requested' | 'waiting' | 'ready';
  createdAt: string;
  waitEndsAt: string | null;
}

/**
 * A pending recovery (src/recovery/): shown first and prominently, with a way to stop it. Signing in
 * cancels one already, so this shows in a session that was open before the request was made.
 */
async function refreshRecovery(): Promise<void> {
  const { recovery } = await get<{ recovery: PendingRecovery | null }>('/api/recovery');
  const banner = byId('pending-recovery');
  banner.hidden = !recovery;
  if (!recovery) return;
  const when = recovery.waitEndsAt ? formatDateTime(recovery.waitEndsAt) : null;
  byId('pending-recovery-text').textContent =
    recovery.status === 'requested'
      ? 'An administrator asked to recover your account; a second administrator must approve it.'
      : recovery.status === 'waiting'
        ? `A link to set up a new passkey will be issued after ${when ?? 'the waiting period'}.`
        : 'A link to set up a new passkey has been issued.';
}

byId<HTMLButtonElement>('cancel-recovery').addEventListener('click', (event) => {
  const button = event.currentTarget as HTMLButtonElement;
  void withBusy(button, 'Cancelling…', async () => {
    try {
      await post('/api/recovery/cancel');
      await refreshRecovery();
      messages.status('The recovery was cancelled. Your ways to sign in keep working.');
    } catch (error) {
      report(messages, error);
    }
  });
});

async function refreshFactors(): Promise<void> {
  factors = await listFactors();
  renderSingleWayIn();
  renderPasskeys();
  renderTotp();
  renderCodes();
  renderPassword();
}

async function start(): Promise<void> {
  installStepUp();
  setUnauthenticatedHandler(() => goToSignIn('Your session has ended. Sign in again to continue.'));
  const flash = takeFlash();
  const current = await currentSession().catch(() => null);
  if (!current) {
    location.replace(`/?next=${encodeURIComponent('/account')}`);
    return;
  }
  // A restricted session (the organization requires a passkey) can do nothing here: the sign-in
  // page explains why and adds the passkey.
  if (isRestricted(current.rollout)) {
    location.replace('/signin');
    return;
  }
  user = current.user;
  const who = byId('who');
  who.textContent = `Signed in as ${user.displayName && user.displayName !== user.username ? `${user.displayName} (${user.username})` : user.username}`;
  who.title = who.textContent; // shortened with an ellipsis on a phone
  if (!supportsPasskeys()) {
    byId('no-webauthn').hidden = false;
    byId('add-passkey').hidden = true;
  }
  try {
    await Promise.all([refreshRecovery(), refreshFactors(), refreshSessions(), refreshDevices(), refreshActivity(), renderEmailPanel(byId('email-panel'), { messages, report: (error: unknown) => report(messages, error) })]);
  } catch (error) {
    report(messages, error);
  }
  byId('loading').hidden = true;
  byId('sections').hidden = false;
  if (flash) messages.status(flash);
  // Arrived from "Set up your app on a new phone" after a backup-code sign-in.
  if (location.hash === '#new-phone') {
    history.replaceState(null, '', location.pathname);
    byId('authenticator').scrollIntoView({ block: 'start' });
    document.querySelector<HTMLButtonElement>('#replace-totp, #setup-totp')?.click();
  }
  if (current.session.recovery) {
    messages.status(`${flash ? `${flash} ` : ''}You signed in with a backup code. Check how many backup codes you have left${passkeysWork ? ', and consider adding a passkey' : ''}.`);
  }
}

void start();

// Coming back to this tab: if the session was ended elsewhere, say so now rather than on the next click.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState !== 'visible' || !user) return;
  void currentSession().then((current) => {
    if (!current) goToSignIn('Your session has ended. Sign in again to continue.');
  }).catch(() => undefined);
});
