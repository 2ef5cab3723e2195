/**
 * Setting up an authenticator app: the QR code with the key beside it (copyable, for apps that
 * cannot scan), then a code to prove the app works. Used by sign-up and by the account page.
 */
import { isWrongCode, messageOf } from './api.ts';
import { codeField, copyText, digitsOnly, h, withBusy, type Messages } from './ui.ts';

export interface TotpEnrollment {
  ceremonyId: string;
  otpauthUri?: string;
  qrCode: string;
  secret: string;
}

/** "JBSW Y3DP EHPK 3PXP": groups of four are easier to type and check. */
function groupKey(secret: string): string {
  return secret.replace(/\s+/g, '').replace(/(.{4})/g, '$1 ').trim();
}

export function renderTotpSetup(
  container: HTMLElement,
  enrollment: TotpEnrollment,
  options: {
    idPrefix: string;
    messages: Messages;
    /** Sends the code; resolves when the server accepted it. */
    confirm: (ceremonyId: string, code: string) => Promise<void>;
    submitLabel?: string;
    /** A sentence before the steps (e.g. what happens to the app being replaced). */
    intro?: string;
  },
): void {
  const id = (name: string) => `${options.idPrefix}-${name}`;
  const key = h('code', { class: 'manual-key', id: id('secret'), 'data-secret': enrollment.secret }, groupKey(enrollment.secret));
  const copy = h('button', { type: 'button', class: 'button button-secondary button-small' }, 'Copy key');
  copy.addEventListener('click', async () => {
    const copied = await copyText(enrollment.secret.replace(/\s+/g, ''), key);
    options.messages.status(copied ? 'Key copied.' : 'Copying is blocked here: the key is selected, so copy it with your keyboard.');
  });

  const { field, input } = codeField(id('code'), 'Enter the 6-digit code the app shows', 'This proves the app is set up right.');
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, options.submitLabel ?? 'Confirm');
  const form = h('form', { class: 'stack', novalidate: true }, field, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const code = digitsOnly(input.value);
    if (code.length !== 6) {
      options.messages.error('Enter the 6-digit code from your authenticator app.', input);
      input.focus();
      return;
    }
    await withBusy(submit, 'Checking…', async () => {
      try {
        await options.confirm(enrollment.ceremonyId, code);
      } catch (error) {
        options.messages.error(isWrongCode(error)
          ? "That code didn't match. Check the time on your phone is right, then enter the newest code."
          : messageOf(error), input);
        input.select();
      }
    });
  });

  container.replaceChildren(
    options.intro ? h('p', {}, options.intro) : '',
    h('ol', { class: 'steps' },
      h('li', {},
        h('p', {}, 'Open your authenticator app (for example Google Authenticator, Microsoft Authenticator, 1Password or Authy) and scan this QR code.'),
        h('div', { class: 'totp-pair' },
          h('img', { class: 'qr', src: enrollment.qrCode, alt: 'QR code to add Latch to your authenticator app', width: '200', height: '200' }),
          h('div', { class: 'manual' },
            h('p', { class: 'hint', id: id('secret-label') }, "Can't scan? Enter this key in the app instead:"),
            key,
            copy,
            // On a phone the QR code is on the phone itself: the app can take the key by link instead.
            enrollment.otpauthUri
              ? h('p', {}, h('a', { href: enrollment.otpauthUri, id: id('open-app'), class: 'button button-secondary button-small' }, 'Open in authenticator app'))
              : null,
          ),
        ),
      ),
      h('li', {}, form),
    ),
  );
}
