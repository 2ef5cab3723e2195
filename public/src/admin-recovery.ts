/**
 * Account recovery on the admin pages (rules in src/recovery/recovery.ts): the requests, with
 * Approve, Cancel and — for the approving administrator of a user without a confirmed address —
 * "Show the link", once; and the "Start a recovery" form on a user's page. Every action is an
 * admin.write call, so a stale passkey proof meets the step-up dialog (api.ts) and then carries on.
 *
 * Whether the wait is over is the server's call: the browser's clock may be wrong, so "Show the
 * link" is offered during the wait too and the server's refusal says when it ends.
 */
import { ApiError, get, post, type User } from './api.ts';
import { confirmAction } from './confirm.ts';
import { copyText, formatDateTime, h, timeElement, withBusy, type Messages } from './ui.ts';

export interface RecoveryRequest {
  id: string;
  userId: string;
  username: string;
  mode: 'admin' | 'self';
  status: 'requested' | 'waiting' | 'ready' | 'completed' | 'cancelled' | 'expired';
  reason: string;
  openedBy: string | null;
  openedByUsername: string | null;
  approvedBy: string | null;
  approvedByUsername: string | null;
  createdAt: string;
  approvedAt: string | null;
  waitEndsAt: string | null;
  linkDelivery: 'email' | 'admin' | null;
  linkIssuedAt: string | null;
}

export interface RecoveryListOptions {
  me: User;
  messages: Messages;
  report: (target: Messages, error: unknown) => void;
  /** On the dashboard list: each request names (and links to) its user. */
  showUser: boolean;
  /** Known on a user's page: with a confirmed address the link goes there, never to an admin. */
  userHasConfirmedEmail?: boolean;
  /** Where the link appears once it is shown (kept when the list is drawn again). */
  linkSlot: HTMLElement;
  /** Draws the list again after a change. */
  refresh: () => Promise<void>;
}

const STATUS_WORDS: Record<RecoveryRequest['status'], string> = {
  requested: 'Awaiting approval by a second administrator',
  waiting: 'Approved: waiting period',
  ready: 'Link issued',
  completed: 'Completed',
  cancelled: 'Cancelled',
  expired: 'Expired',
};

export async function loadRecoveries(query: { userId?: string }, purpose: string): Promise<RecoveryRequest[]> {
  const params = new URLSearchParams({ open: 'true' });
  if (query.userId) params.set('userId', query.userId);
  return (await get<{ requests: RecoveryRequest[] }>(`/api/admin/recovery?${params}`, { purpose })).requests;
}

const who = (id: string | null, username: string | null, me: User) => (id === null ? 'the user (self-service)' : id === me.id ? 'you' : (username ?? 'another administrator'));

/** The message for a refusal, in the words of this page where the server's code is known. */
function explain(error: unknown): unknown {
  if (error instanceof ApiError && error.code === 'recovery_waiting' && typeof error.details.waitEndsAt === 'string') {
    return new ApiError(error.status, error.code, `The waiting period ends at ${formatDateTime(error.details.waitEndsAt)}. The link can be shown after that, not before.`, error.details);
  }
  if (error instanceof ApiError && error.code === 'recovery_state' && error.details.reason === 'sent_by_email') {
    return new ApiError(error.status, error.code, 'This user has a confirmed email address: the link goes there when the wait ends, not to an administrator.', error.details);
  }
  return error;
}

export function renderRecoveryList(list: HTMLElement, requests: RecoveryRequest[], options: RecoveryListOptions): void {
  const { me, messages } = options;
  if (requests.length === 0) {
    list.replaceChildren(h('li', { class: 'item muted' }, options.showUser ? 'No recovery request is open.' : 'No open recovery request for this user.'));
    return;
  }
  list.replaceChildren(
    ...requests.map((request) => {
      const subject = options.showUser ? `${request.username}'s recovery` : 'this recovery';
      const actions = h('div', { class: 'item-actions' });
      const act = (label: string, busy: string, klass: string, run: () => Promise<void>) => {
        const button = h('button', { type: 'button', class: `button ${klass} button-small`, 'data-action': label }, label, h('span', { class: 'visually-hidden' }, ` ${subject}`));
        button.addEventListener('click', () => void withBusy(button, busy, async () => {
          try {
            await run();
          } catch (error) {
            options.report(messages, explain(error));
          }
        }));
        actions.append(button);
        return button;
      };

      if (request.status === 'requested') {
        act('Approve', 'Approving…', 'button-primary', async () => {
          await post(`/api/admin/recovery/${request.id}/approve`, {}, { purpose: 'approve this recovery' });
          await options.refresh();
          messages.status('Approved. The waiting period has started; the user has been told.');
        });
      }
      const mayShowLink = request.status === 'waiting' && request.mode === 'admin' && request.approvedBy === me.id && options.userHasConfirmedEmail !== true;
      if (mayShowLink) {
        act('Show the link', 'Showing…', 'button-secondary', async () => {
          const confirmed = await confirmAction({
            title: 'Show the recovery link?',
            body: `It is shown only this once. Have ${request.username} with you, or a channel you trust, before you show it.`,
            confirmLabel: 'Show the link',
          });
          if (!confirmed) return;
          const { url, expiresAt } = await post<{ url: string; expiresAt: string }>(`/api/admin/recovery/${request.id}/link`, {}, { purpose: 'show the recovery link' });
          showLink(options.linkSlot, request.username, url, expiresAt, messages);
          await options.refresh();
        });
      }
      act('Cancel', 'Cancelling…', 'button-danger-quiet', async () => {
        if (!(await confirmAction({ title: `Cancel ${subject}?`, body: 'The request ends now; any link it issued stops working. The user is told.', confirmLabel: 'Cancel the recovery', danger: true }))) return;
        await post(`/api/admin/recovery/${request.id}/cancel`, {}, { purpose: 'cancel this recovery' });
        await options.refresh();
        messages.status('The recovery was cancelled.');
      });

      const notes: Array<Node | null> = [];
      if (request.status === 'requested' && request.openedBy === me.id) notes.push(h('p', { class: 'hint' }, 'You opened it: another administrator must approve it.'));
      if (request.status === 'waiting' && request.mode === 'admin' && request.approvedBy === me.id && options.userHasConfirmedEmail !== true) {
        notes.push(h('p', { class: 'hint' }, 'When the wait is over, the link goes to the user’s confirmed email address; without one, you can show it here, once, to hand over in person.'));
      }
      if (request.status === 'waiting' && options.userHasConfirmedEmail === true) notes.push(h('p', { class: 'hint' }, 'When the wait is over, the link goes to the user’s confirmed email address.'));

      return h(
        'li',
        { class: 'item', 'data-recovery-id': request.id, 'data-status': request.status },
        h(
          'div',
          { class: 'item-main' },
          h('p', { class: 'item-title' }, options.showUser ? h('a', { href: `/admin?user=${encodeURIComponent(request.userId)}` }, request.username) : null, options.showUser ? ': ' : null, STATUS_WORDS[request.status]),
          h('p', {}, h('span', { class: 'muted' }, 'Reason: '), request.reason),
          h(
            'p',
            { class: 'item-meta' },
            h('span', {}, `opened by ${who(request.openedBy, request.openedByUsername, me)} `, timeElement(request.createdAt)),
            request.approvedAt ? h('span', {}, `approved by ${who(request.approvedBy, request.approvedByUsername, me)} `, timeElement(request.approvedAt)) : null,
            request.waitEndsAt ? h('span', { class: 'wait-ends' }, 'wait ends ', timeElement(request.waitEndsAt)) : null,
            request.linkIssuedAt ? h('span', {}, request.linkDelivery === 'email' ? 'link emailed ' : 'link shown to the approver ', timeElement(request.linkIssuedAt)) : null,
          ),
          ...notes,
        ),
        actions,
      );
    }),
  );
}

/** The link, once: copy it now, it is not shown again. */
function showLink(slot: HTMLElement, username: string, url: string, expiresAt: string, messages: Messages): void {
  const input = h('input', { id: 'recovery-link-url', class: 'input', readonly: true, value: url, 'aria-describedby': 'recovery-link-warning', spellcheck: 'false' });
  const copy = h('button', { type: 'button', class: 'button button-primary button-small' }, 'Copy the link');
  copy.addEventListener('click', async () => {
    const copied = await copyText(url);
    if (!copied) input.select();
    messages.status(copied ? 'Link copied.' : 'Copying is blocked here: the link is selected, so copy it with your keyboard.');
  });
  const done = h('button', { type: 'button', class: 'button button-secondary button-small' }, 'I handed it over: hide it');
  done.addEventListener('click', () => slot.replaceChildren());
  slot.replaceChildren(
    h(
      'div',
      { class: 'notice notice-recovery stack', id: 'recovery-link', role: 'region', 'aria-labelledby': 'recovery-link-title' },
      h('h3', { id: 'recovery-link-title' }, `Recovery link for ${username}`),
      h('p', { id: 'recovery-link-warning', class: 'warning' }, `Shown only this once: copy it now and hand it to ${username} in person. It works once, until ${formatDateTime(expiresAt)}; then every old sign-in method and session of the account ends.`),
      h('div', { class: 'field' }, h('label', { for: 'recovery-link-url' }, 'Recovery link'), input),
      h('div', { class: 'button-row' }, copy, done),
    ),
  );
  input.focus();
  input.select();
}

/** "Start a recovery" on a user's page: a reason, then admin A's fresh passkey proof. */
export function recoveryForm(userId: string, username: string, options: { messages: Messages; report: (target: Messages, error: unknown) => void; refresh: () => Promise<void> }): HTMLFormElement {
  const reason = h('textarea', { id: 'recovery-reason', class: 'input', maxlength: '500', rows: '3', required: true, 'aria-describedby': 'recovery-reason-hint' });
  const submit = h('button', { type: 'submit', class: 'button button-primary button-small' }, 'Start a recovery');
  const form = h(
    'form',
    { class: 'stack', novalidate: true, id: 'recovery-form', 'aria-labelledby': 'recovery-form-title' },
    h('h3', { id: 'recovery-form-title' }, 'Start a recovery'),
    h('p', { class: 'hint' }, `For when ${username} has lost every way to sign in. Another administrator must approve it; then a waiting period runs, during which any sign-in by ${username} cancels it.`),
    h('div', { class: 'field' }, h('label', { for: 'recovery-reason' }, 'What happened'), h('p', { class: 'hint', id: 'recovery-reason-hint' }, 'What was lost, and how you checked who is asking. Kept as the reason in the audit log.'), reason),
    submit,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!reason.value.trim()) {
      options.messages.error('Give a reason for the recovery.', reason);
      reason.focus();
      return;
    }
    await withBusy(submit, 'Starting…', async () => {
      try {
        await post('/api/admin/recovery', { userId, reason: reason.value.trim() }, { purpose: 'start a recovery' });
        await options.refresh();
        options.messages.status('Recovery opened. Another administrator must approve it.');
      } catch (error) {
        options.report(options.messages, error);
      }
    });
  });
  return form;
}
