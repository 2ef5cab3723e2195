import type { Notification } from '../db/schema.ts';
import type { NotificationKind } from './outbox.ts';

/** One email: plain text and a simple HTML twin of the same words. */
export interface MailMessage {
  subject: string;
  text: string;
  html: string;
}

export interface MessageSettings {
  rpName: string;
  /** Where the account page is (the primary origin + /account): no token, just the page. */
  accountUrl: string;
}

const factorNames: Record<string, string> = {
  passkey: 'passkey',
  totp: 'authenticator app',
  backup_codes: 'set of backup codes',
  password: 'password',
};

const signInMethods: Record<string, string> = {
  passkey: 'a passkey',
  password_totp: 'your password and authenticator app',
  password_backup_code: 'your password and a backup code',
  password_remembered_device: 'your password on a remembered browser',
  totp_signup: 'a new account',
  passkey_signup: 'a new account',
};

interface Parts {
  subject: string;
  /** What happened, one or two sentences. */
  happened: string;
  /** What to do if it was not the user. */
  ifNotYou: string;
}

const SECURE_ACCOUNT = 'sign in and review your passkeys, authenticator app and sessions on your account page, remove anything you do not recognise, and change your password if you have one.';

const CANCEL_HINT = 'No administrator can see your passkeys, codes or password, or skip the wait.';

const cancelReasons: Record<string, string> = {
  signed_in: ' because you signed in',
  by_user: ' by you',
  by_admin: ' by an administrator',
};

function whenText(value: unknown): string {
  const date = typeof value === 'string' ? new Date(value) : null;
  return date && !Number.isNaN(date.getTime()) ? formatWhen(date) : 'the waiting period';
}

/**
 * The words of each notification. Only what the payload and row say, and none of it secret: the
 * payloads carry ids, kinds, labels and counts, never codes, secrets or tokens.
 */
function partsOf(kind: NotificationKind, payload: Record<string, unknown>): Parts {
  const factor = factorNames[String(payload.kind)] ?? 'way to sign in';
  const label = typeof payload.label === 'string' && payload.label !== '' ? ` ("${payload.label}")` : '';
  switch (kind) {
    case 'factor_added':
      return { subject: `A ${factor} was added to your account`, happened: `A ${factor}${label} was added to your account.`, ifNotYou: `someone else can sign in as you: ${SECURE_ACCOUNT}` };
    case 'factor_removed':
      return {
        subject: `A ${factor} was removed from your account`,
        happened: `A ${factor}${label} was removed from your account${payload.byAdmin === true ? ' by an administrator' : ''}.`,
        ifNotYou: SECURE_ACCOUNT,
      };
    case 'factor_flagged':
      return {
        subject: 'A passkey was refused: it may have been copied',
        happened: `Your passkey${label} was refused because its signature counter went backwards, which happens when a copy of it is used. It stays refused until you confirm it is yours or remove it.`,
        ifNotYou: `if you did not try to sign in just now, someone may hold a copy of this passkey: remove it on your account page and add a new one.`,
      };
    case 'backup_code_used': {
      const remaining = typeof payload.remaining === 'number' ? payload.remaining : null;
      const left = remaining === null ? '' : remaining === 1 ? ' You have 1 backup code left.' : ` You have ${remaining} backup codes left.`;
      return {
        subject: 'A backup code was used to sign in',
        happened: `Someone signed in to your account with your password and a backup code.${left}${remaining !== null && remaining <= 2 ? ' Make new ones on your account page soon.' : ''}`,
        ifNotYou: `someone has your password and a backup code: ${SECURE_ACCOUNT} Then make new backup codes.`,
      };
    }
    case 'backup_codes_regenerated':
      return { subject: 'New backup codes were made', happened: 'A new set of backup codes was made for your account; the old codes no longer work.', ifNotYou: SECURE_ACCOUNT };
    case 'password_changed':
      return { subject: 'Your password was changed', happened: 'The password of your account was changed.', ifNotYou: SECURE_ACCOUNT };
    case 'new_sign_in': {
      const method = signInMethods[String(payload.method)] ?? 'a way you set up';
      return { subject: 'New sign-in to your account', happened: `Someone signed in to your account with ${method}.`, ifNotYou: `end that session on your account page, then ${SECURE_ACCOUNT}` };
    }
    case 'second_factor_throttled': {
      const method = payload.method === 'backup_code' ? 'backup codes' : 'authenticator codes';
      return {
        subject: 'Many wrong codes were tried on your account',
        happened: `Many wrong ${method} were entered for your account after a correct password, so further tries are slowed down.`,
        ifNotYou: 'someone knows your password: change it on your account page, and consider signing in with a passkey instead.',
      };
    }
    case 'totp_retired': {
      const count = typeof payload.passkeySignIns === 'number' ? payload.passkeySignIns : null;
      return {
        subject: 'Your authenticator app was retired: you sign in with passkeys now',
        happened: `Your organization retires authenticator apps once people use passkeys${count !== null ? ` (you signed in with a passkey ${count} times)` : ''}, so your authenticator app${label} no longer signs you in. Your backup codes still work if you lose your passkeys.`,
        ifNotYou: `you did not sign in with a passkey recently: ${SECURE_ACCOUNT}`,
      };
    }
    case 'passkey_upgraded':
      return {
        subject: 'A passkey was created for your account',
        happened: `Right after you signed in with your password and authenticator app, your password manager created a passkey${label} for your account. Next time, sign in with it: no code to type.`,
        ifNotYou: `someone else can sign in as you: ${SECURE_ACCOUNT}`,
      };
    case 'email_changed': {
      const change = payload.change;
      if (change === 'removed') {
        return { subject: 'The email address of your account was removed', happened: 'This address was removed from your account: it will no longer receive security notifications.', ifNotYou: SECURE_ACCOUNT };
      }
      if (payload.toPreviousAddress === true) {
        return {
          subject: 'The email address of your account was changed',
          happened: `Security notifications for your account now go to ${String(payload.newAddressMasked ?? 'another address')} instead of this address.`,
          ifNotYou: SECURE_ACCOUNT,
        };
      }
      return { subject: 'Your email address is confirmed', happened: 'This address now receives the security notifications of your account.', ifNotYou: SECURE_ACCOUNT };
    }
    case 'recovery_requested':
      return {
        subject: 'Account recovery was requested for your account',
        happened:
          payload.mode === 'self'
            ? `Someone asked to recover your account because every way to sign in was lost. Unless it is cancelled, a link to set up a new passkey will be sent to this address after ${whenText(payload.waitEndsAt)}; then every current way to sign in stops working.`
            : 'An administrator opened a request to recover your account because every way to sign in was lost. A second administrator must approve it; then a waiting period starts.',
        ifNotYou: `sign in now (any successful sign-in cancels the recovery) or cancel it on your account page, and tell your administrator. ${CANCEL_HINT}`,
      };
    case 'recovery_approved':
      return {
        subject: 'Account recovery was approved for your account',
        happened: `A second administrator approved the recovery of your account. Unless it is cancelled, after ${whenText(payload.waitEndsAt)} a single-use link to set up a new passkey will be issued, and then every current way to sign in stops working and every session ends.`,
        ifNotYou: `sign in now (any successful sign-in cancels the recovery) or cancel it on your account page, and tell your administrator. ${CANCEL_HINT}`,
      };
    case 'recovery_cancelled':
      return {
        subject: 'Account recovery was cancelled',
        happened: `The recovery of your account was cancelled${cancelReasons[String(payload.reason)] ?? ''}. Your current ways to sign in keep working.`,
        ifNotYou: 'nothing changed on your account; if you did not expect a recovery at all, tell your administrator.',
      };
    case 'recovery_completed':
      return {
        subject: 'Your account was recovered',
        happened: 'A new passkey was set up through a recovery link. Every earlier way to sign in was removed and every earlier session ended.',
        ifNotYou: 'someone else now holds your account: contact your administrator at once.',
      };
    case 'passkey_required':
      return {
        subject: 'A passkey will be required to sign in',
        happened: `From ${whenText(payload.deadline)} you will need a passkey to sign in to your account. Add one on your account page before then.`,
        ifNotYou: 'this is a policy of your organization, not something you did: add a passkey on your account page, or ask your administrator.',
      };
    case 'account_disabled':
      return {
        subject: 'Your account was disabled',
        happened: 'An administrator disabled your account: it cannot sign in, and every session ended.',
        ifNotYou: 'ask your administrator why.',
      };
    case 'account_enabled':
      return {
        subject: 'Your account was enabled again',
        happened: 'An administrator enabled your account again: it can sign in with its existing ways to sign in.',
        ifNotYou: 'if you did not expect this, tell your administrator.',
      };
  }
}

/** The message for one outbox row: what happened, when, from which browser and address, what to do. */
export function renderNotification(row: Pick<Notification, 'kind' | 'payload' | 'created_at' | 'client_address' | 'user_agent'>, settings: MessageSettings): MailMessage {
  const parts = partsOf(row.kind as NotificationKind, row.payload ?? {});
  const facts: Array<[string, string]> = [
    ['When', formatWhen(row.created_at)],
    ['Browser', row.user_agent ? oneLine(row.user_agent, 200) : 'unknown'],
    ['Address', row.client_address ?? 'unknown'],
  ];
  return compose(settings, parts.subject, parts.happened, facts, `If this was not you, ${parts.ifNotYou}`);
}

/** The confirmation of a new address: the only mail an unconfirmed address ever gets. */
export function renderEmailConfirmation(
  input: { code: string; expiresInMinutes: number; when: Date; clientAddress: string | null; userAgent: string | null },
  settings: MessageSettings,
): MailMessage {
  return compose(
    settings,
    'Confirm your email address',
    `Enter this code on your account page to confirm this address: ${input.code}\nIt works once, for ${input.expiresInMinutes} minutes.`,
    [
      ['When', formatWhen(input.when)],
      ['Browser', input.userAgent ? oneLine(input.userAgent, 200) : 'unknown'],
      ['Address', input.clientAddress ?? 'unknown'],
    ],
    'If you did not ask for this, ignore this message: the address is not added without the code. Never tell the code to anyone.',
  );
}

/**
 * The recovery link itself: sent straight to the confirmed address (never queued in the outbox,
 * which must not hold a token), once, when the wait is over.
 */
export function renderRecoveryLink(input: { url: string; expiresInMinutes: number; when: Date }, settings: MessageSettings): MailMessage {
  return compose(
    settings,
    'Your account recovery link',
    `The waiting period of your account recovery is over. Open this link to set up a new passkey:\n${input.url}\nIt works once, for ${input.expiresInMinutes} minutes. When you use it, every earlier way to sign in is removed and every earlier session ends.`,
    [['When', formatWhen(input.when)]],
    'If you did not ask for this, do not open the link: tell your administrator. Never forward this message.',
  );
}

function compose(settings: MessageSettings, subject: string, happened: string, facts: Array<[string, string]>, advice: string): MailMessage {
  const rp = oneLine(settings.rpName, 64);
  const text = [
    happened,
    '',
    ...facts.map(([name, value]) => `${name}: ${value}`),
    '',
    advice,
    `Your account: ${settings.accountUrl}`,
    '',
    `— ${rp}`,
  ].join('\n');
  const html = [
    '<!doctype html><html><body style="font-family: sans-serif; line-height: 1.4">',
    `<p>${escapeHtml(happened).replace(/\n/g, '<br>')}</p>`,
    `<table>${facts.map(([name, value]) => `<tr><th align="left">${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`).join('')}</table>`,
    `<p>${escapeHtml(advice)}</p>`,
    `<p><a href="${escapeHtml(settings.accountUrl)}">Your account</a></p>`,
    `<p>— ${escapeHtml(rp)}</p>`,
    '</body></html>',
  ].join('\n');
  return { subject: `[${rp}] ${subject}`, text, html };
}

function formatWhen(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A header-safe, bounded single line (a user agent is the client's to choose). */
function oneLine(value: string, max: number): string {
  return value.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, max);
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** j•••@example.com: enough for the owner to recognise, not enough to hand a stranger the address. */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 1) return '•••';
  return `${address[0]}•••${address.slice(at)}`;
}
