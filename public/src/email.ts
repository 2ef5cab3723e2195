/**
 * The account page's "Email" panel: the address security notifications go to. Setting or
 * changing it asks for a step-up (api.ts shows the dialog), then a 6-digit code mailed to the
 * new address confirms it. Until then the address gets nothing but that code, and the confirmed
 * one (if any) keeps receiving the warnings. Email is never a way to sign in.
 */
import { api, ApiError, del, get, post, StepUpCancelled } from './api.ts';
import { confirmAction } from './confirm.ts';
import { codeField, digitsOnly, formatDay, h, timeElement, withBusy, type Messages } from './ui.ts';

interface EmailState {
  address: string | null;
  confirmed: boolean;
  confirmedAt: string | null;
  pending: { address: string; expiresAt: string } | null;
}

export interface EmailPanelOptions {
  messages: Messages;
  /** The page's error reporter (a cancelled step-up is quiet there). */
  report(error: unknown): void;
}

/** Renders the panel into `container` and keeps it up to date after each action. */
export async function renderEmailPanel(container: HTMLElement, options: EmailPanelOptions): Promise<void> {
  const body = h('div', { class: 'panel-body', id: 'email-body' });
  container.replaceChildren(
    h('section', { class: 'panel', 'aria-labelledby': 'email-title', id: 'email' },
      h('div', { class: 'panel-head' },
        h('div', {},
          h('h2', { id: 'email-title' }, 'Email'),
          h('p', { class: 'hint' }, 'Where we tell you when someone signs in or changes how you sign in. It is never a way to sign in.'))),
      body),
  );
  const { messages, report } = options;

  const show = (state: EmailState, focus?: string) => {
    body.replaceChildren(...view(state));
    if (focus) body.querySelector<HTMLElement>(`#${focus}`)?.focus();
  };

  const refresh = async (focus?: string) => show(await get<EmailState>('/api/email'), focus);

  const act = async <T>(button: HTMLButtonElement, busy: string, work: () => Promise<T>): Promise<T | undefined> =>
    withBusy(button, busy, async () => {
      try {
        return await work();
      } catch (error) {
        if (!(error instanceof StepUpCancelled) && error instanceof ApiError && error.code === 'validation_failed') {
          messages.error('That is not an email address we can send to. Check it and try again.');
        } else {
          report(error);
        }
        return undefined;
      }
    });

  function addressForm(state: EmailState): HTMLElement {
    const input = h('input', { id: 'email-address', name: 'email', type: 'email', autocomplete: 'email', required: true, maxlength: '254', class: 'input', 'aria-describedby': 'email-address-hint' });
    const send = h('button', { type: 'submit', class: 'button button-primary button-small', id: 'email-send' }, 'Send code');
    const form = h('form', { class: 'stack', novalidate: true },
      h('div', { class: 'field' },
        h('label', { for: 'email-address' }, state.address ? 'New email address' : 'Email address'),
        h('p', { class: 'hint', id: 'email-address-hint' }, 'We send a code to it. It receives nothing else until you enter the code.'),
        input),
      h('div', { class: 'button-row' }, send));
    if (state.address || state.pending) {
      const cancel = h('button', { type: 'button', class: 'button button-quiet button-small' }, 'Cancel');
      cancel.addEventListener('click', () => show(state, 'email-change'));
      form.querySelector('.button-row')!.append(cancel);
    }
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const email = input.value.trim();
      if (!email) {
        messages.error('Enter an email address.');
        input.focus();
        return;
      }
      await requestCode(send, email);
    });
    return form;
  }

  async function requestCode(button: HTMLButtonElement, email: string): Promise<void> {
    const state = await act(button, 'Sending…', () => api<EmailState>('PUT', '/api/email', { email }, { purpose: 'change where your security emails go' }));
    if (!state) return;
    show(state, 'email-code');
    messages.status(state.pending ? `We sent a code to ${state.pending.address}.` : 'That is already your address.');
  }

  function pendingView(state: EmailState): Node[] {
    const pending = state.pending!;
    const { field, input } = codeField('email-code', 'Code from the email', `Sent to ${pending.address}. It works once, until ${new Date(pending.expiresAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}.`);
    const confirm = h('button', { type: 'submit', class: 'button button-primary button-small', id: 'email-confirm' }, 'Confirm');
    const resend = h('button', { type: 'button', class: 'button button-secondary button-small', id: 'email-resend' }, 'Send a new code');
    const other = h('button', { type: 'button', class: 'button button-quiet button-small', id: 'email-change' }, 'Use another address');
    const form = h('form', { class: 'stack', novalidate: true }, field, h('div', { class: 'button-row' }, confirm, resend, other));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const code = digitsOnly(input.value);
      if (code.length !== 6) {
        messages.error('Enter the 6-digit code from the email.');
        input.focus();
        return;
      }
      const confirmed = await withBusy(confirm, 'Confirming…', async () => {
        try {
          return await post<EmailState>('/api/email/confirm', { code });
        } catch (error) {
          if (error instanceof ApiError && error.code === 'code_invalid') {
            const left = typeof error.details.attemptsLeft === 'number' ? error.details.attemptsLeft : null;
            messages.error(`That code did not work.${left !== null ? ` ${left} ${left === 1 ? 'try' : 'tries'} left.` : ''}`);
            input.select();
          } else if (error instanceof ApiError && error.code === 'email_confirmation_invalid') {
            messages.error(error.message);
            void refresh('email-resend');
          } else {
            report(error);
          }
          return undefined;
        }
      });
      if (!confirmed) return;
      show(confirmed, 'email-change');
      messages.status(`${confirmed.address} is confirmed. Security emails now go there.`);
    });
    resend.addEventListener('click', () => void requestCode(resend, pending.address));
    other.addEventListener('click', () => {
      body.replaceChildren(addressForm(state));
      body.querySelector<HTMLElement>('#email-address')?.focus();
    });
    const notes: Node[] = [];
    if (state.address && state.confirmed) notes.push(h('p', {}, `Until you confirm, security emails still go to ${state.address}.`));
    return [...notes, form];
  }

  function view(state: EmailState): Node[] {
    if (state.pending) return pendingView(state);
    if (!state.address) return [h('p', { class: 'empty' }, 'No email address. Add one to hear about sign-ins and changes to your account.'), addressForm(state)];
    const change = h('button', { type: 'button', class: 'button button-secondary button-small', id: 'email-change' }, 'Change');
    const remove = h('button', { type: 'button', class: 'button button-danger-quiet button-small', id: 'email-remove' }, 'Remove');
    change.addEventListener('click', () => {
      body.replaceChildren(addressForm(state));
      body.querySelector<HTMLElement>('#email-address')?.focus();
    });
    remove.addEventListener('click', async () => {
      const sure = await confirmAction({
        title: 'Remove your email address?',
        body: 'You will no longer hear about sign-ins and changes to your account by email.',
        confirmLabel: 'Remove',
        danger: true,
      });
      if (!sure) return;
      const removed = await act(remove, 'Removing…', () => del<EmailState>('/api/email', { purpose: 'remove your email address' }));
      if (!removed) return;
      show(removed, 'email-address');
      messages.status('Email address removed.');
    });
    const buttons: Node[] = [change, remove];
    if (!state.confirmed) {
      const confirmNow = h('button', { type: 'button', class: 'button button-primary button-small', id: 'email-send' }, 'Send code');
      confirmNow.addEventListener('click', () => void requestCode(confirmNow, state.address!));
      buttons.unshift(confirmNow);
    }
    return [
      state.confirmed
        ? h('p', {}, h('span', {}, `Security emails go to ${state.address}, confirmed `), timeElement(state.confirmedAt, formatDay), '.')
        : h('p', {}, `${state.address} is not confirmed yet: it receives nothing until you confirm it with a code.`),
      h('div', { class: 'button-row' }, ...buttons),
    ];
  }

  try {
    await refresh();
  } catch (error) {
    body.replaceChildren(h('p', { class: 'empty' }, 'Your email address could not be loaded.'));
    report(error);
  }
}
