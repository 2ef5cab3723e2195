/**
 * The step-up dialog. When the server answers `step_up_required`, api.ts calls `confirmItsYou`,
 * which asks for a passkey or an authenticator code — whichever the user has and the policy
 * accepts — and resolves true once the server has recorded the fresh proof. api.ts then sends the
 * original request again, so the user's action goes through without a reload.
 */
import { ApiError, isWrongCode, messageOf, post, setStepUpHandler, type StepUpRequest } from './api.ts';
import { codeField, digitsOnly, h, messagesIn } from './ui.ts';
import { isCancellation, passkeyErrorMessage, usePasskey } from './webauthn.ts';
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';

let dialog: HTMLDialogElement | null = null;

function buildDialog(): HTMLDialogElement {
  const titleId = 'step-up-title';
  const element = h('dialog', { class: 'dialog', id: 'step-up', 'aria-labelledby': titleId, 'aria-describedby': 'step-up-reason' });
  document.body.append(element);
  return element;
}

/** One step-up at a time: concurrent requests that need it share the same confirmation. */
let pending: Promise<boolean> | null = null;

function confirmItsYou(request: StepUpRequest): Promise<boolean> {
  pending ??= runDialog(request).finally(() => {
    pending = null;
  });
  return pending;
}

function runDialog(request: StepUpRequest): Promise<boolean> {
  dialog ??= buildDialog();
  const element = dialog;
  const returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;

  return new Promise<boolean>((resolve) => {
    let settled = false;
    const finish = (confirmed: boolean) => {
      if (settled) return;
      settled = true;
      element.close();
      element.replaceChildren();
      returnFocus?.focus();
      resolve(confirmed);
    };

    const error = h('p', { class: 'message message-error', role: 'alert', hidden: true });
    const status = h('p', { class: 'message message-status', role: 'status', 'aria-live': 'polite' });
    const messages = messagesIn(error, status);
    const reason = request.purpose
      ? `For your security, confirm it's you before you ${request.purpose}.`
      : "For your security, confirm it's you to continue.";

    const body = h('div', { class: 'dialog-body' });
    const canPasskey = request.methods.includes('passkey');
    const canCode = request.methods.includes('totp');

    if (canPasskey) {
      const passkeyButton = h('button', { type: 'button', class: 'button button-primary', id: 'step-up-passkey' }, 'Use your passkey');
      passkeyButton.addEventListener('click', async () => {
        messages.status('Follow the prompt from your browser or device.');
        passkeyButton.disabled = true;
        try {
          const { ceremonyId, options } = await post<{ ceremonyId: string; options: PublicKeyCredentialRequestOptionsJSON }>(
            '/api/step-up/passkey/options', {}, { stepUp: false });
          const response = await usePasskey(options);
          await post('/api/step-up/passkey/verify', { ceremonyId, response }, { stepUp: false });
          finish(true);
        } catch (problem) {
          if (problem instanceof ApiError) messages.error(messageOf(problem));
          else messages.error(isCancellation(problem) ? 'No passkey was used. Try again, or close this to cancel.' : passkeyErrorMessage(problem, 'use'));
        } finally {
          passkeyButton.disabled = false;
        }
      });
      body.append(passkeyButton);
    }

    if (canPasskey && canCode) body.append(h('p', { class: 'divider' }, h('span', {}, 'or')));

    if (canCode) {
      const { field, input } = codeField('step-up-code', 'Code from your authenticator app', 'The 6-digit code for Latch.');
      const submit = h('button', { type: 'submit', class: canPasskey ? 'button button-secondary' : 'button button-primary' }, 'Confirm with code');
      const form = h('form', { class: 'stack', novalidate: true }, field, submit);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const code = digitsOnly(input.value);
        if (code.length !== 6) {
          messages.error('Enter the 6-digit code from your authenticator app.', input);
          input.focus();
          return;
        }
        submit.disabled = true;
        try {
          await post('/api/step-up/totp', { code }, { stepUp: false });
          finish(true);
        } catch (problem) {
          messages.error(isWrongCode(problem)
            ? "That code didn't work. Check your authenticator app and try the newest code."
            : messageOf(problem), input);
          input.select();
        } finally {
          submit.disabled = false;
        }
      });
      body.append(form);
    }

    if (!canPasskey && !canCode) {
      body.append(h('p', {}, "You don't have a passkey or authenticator app that can confirm this. Sign out and sign in again, then try once more."));
    }

    const cancel = h('button', { type: 'button', class: 'button button-quiet' }, 'Cancel');
    cancel.addEventListener('click', () => finish(false));
    element.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(false);
    }, { once: true });

    element.replaceChildren(
      h('h2', { id: 'step-up-title', class: 'dialog-title' }, "Confirm it's you"),
      h('p', { id: 'step-up-reason' }, reason),
      error,
      status,
      body,
      h('div', { class: 'dialog-actions' }, cancel),
    );
    element.showModal();
    (element.querySelector<HTMLElement>('#step-up-passkey') ?? element.querySelector<HTMLElement>('#step-up-code') ?? cancel).focus();
  });
}

/** Call once per page that makes sensitive requests. */
export function installStepUp(): void {
  setStepUpHandler(confirmItsYou);
}
