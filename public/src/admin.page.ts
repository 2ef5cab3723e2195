/**
 * The admin pages (/admin): the passkey adoption dashboard, user search, and one user's page with
 * the admin actions. Everything comes from the admin API; every call needs a fresh passkey proof,
 * so a stale session meets the step-up dialog (stepup.ts, passkey only) and then carries on.
 *
 * Views by address, so links, the back button and a reload work: /admin (dashboard),
 * /admin?view=users&prefix=…&group=…&factorState=… (search), /admin?view=recovery (open recovery
 * requests), /admin?user=<id> (a user).
 */
import { drawAdoptionChart, dayLabel, type Point } from './adoption-chart.ts';
import { api, ApiError, currentSession, del, get, messageOf, post, setUnauthenticatedHandler, StepUpCancelled, type User } from './api.ts';
import { loadRecoveries, recoveryForm, renderRecoveryList } from './admin-recovery.ts';
import { confirmAction } from './confirm.ts';
import { installStepUp } from './stepup.ts';
import { byId, describeUserAgent, formatDateTime, formatDay, h, messageRegions, pageMessages, setFlash, showView, timeElement, withBusy, type Messages } from './ui.ts';

const messages = pageMessages();
let me: User;

type FactorState = 'passkey_only' | 'passkey_and_totp' | 'totp_only' | 'none';
const STATE_WORDS: Record<FactorState, string> = {
  passkey_only: 'Passkey only',
  passkey_and_totp: 'Passkey and authenticator app',
  totp_only: 'Authenticator app only',
  none: 'No second factor',
};
const METHOD_WORDS: Record<string, string> = {
  passkey: 'Passkey',
  password_totp: 'Password + app code',
  password_backup_code: 'Password + backup code',
  password_remembered_device: 'Password on a remembered browser',
};
const KIND_WORDS: Record<string, string> = { passkey: 'Passkey', totp: 'Authenticator app', backup_codes: 'Backup codes', password: 'Password' };

interface Counts {
  users: number;
  passkeyOnly: number;
  passkeyAndTotp: number;
  totpOnly: number;
  noSecondFactor: number;
  withUnusedBackupCodes: number;
}
interface Adoption {
  generatedAt: string;
  organization: Counts;
  groups: Array<{
    id: string;
    name: string;
    isDefault: boolean;
    counts: Counts;
    mode: 'optional' | 'encouraged' | 'required';
    deadline: string | null;
    daysLeft: number | null;
    totpOnly: { total: number; users: Array<{ id: string; username: string; displayName: string; lastSignInAt: string | null }> };
  }>;
  signIns: { methods: string[]; days: Array<{ day: string; total: number; byMethod: Record<string, number> }>; totals: Record<string, number> };
  adoptionOverTime: Point[];
  exemptions: { total: number; items: Array<{ userId: string; username: string; reason: string; until: string | null }> };
}

function report(target: Messages, error: unknown): void {
  if (error instanceof StepUpCancelled) {
    target.error("This page needs you to confirm it's you with your passkey. Reload to try again.");
    return;
  }
  if (error instanceof ApiError && error.code === 'forbidden' && error.details.reason === 'not_admin') {
    target.error('These pages are for administrators. Your account is not one.');
    return;
  }
  if (error instanceof ApiError && error.code === 'forbidden' && error.details.reason === 'no_step_up_method') {
    target.error('Administration needs a passkey. Add one on your account page, then come back.');
    return;
  }
  target.error(messageOf(error));
}

const percent = (part: number, whole: number) => (whole === 0 ? '0%' : `${Math.round((part / whole) * 100)}%`);
const userLink = (id: string, text: string) => h('a', { href: `/admin?user=${encodeURIComponent(id)}` }, text);
const cell = (tag: 'td' | 'th', content: Node | string, attributes: Record<string, string> = {}) => h(tag, attributes, content);
const groupLabel = (group: { name: string; isDefault: boolean }) => (group.isDefault ? `${group.name} (everyone)` : group.name);

function daysLeftText(daysLeft: number | null): string {
  if (daysLeft === null) return '—';
  if (daysLeft < 0) return `passed ${-daysLeft} day${daysLeft === -1 ? '' : 's'} ago`;
  if (daysLeft === 0) return 'today';
  return String(daysLeft);
}

// ——— Dashboard ———

async function showDashboard(): Promise<void> {
  const data = await get<Adoption>('/api/admin/adoption', { purpose: 'see the adoption figures' });
  const org = data.organization;
  const figure = (key: string, label: string, value: number, note?: string) =>
    h('div', { class: 'figure-item', 'data-figure': key }, h('dt', {}, label), h('dd', {}, h('span', { class: 'figure' }, String(value)), note ? h('span', { class: 'muted' }, ` ${note}`) : null));
  byId('figures').replaceChildren(
    figure('users', 'Active users', org.users),
    figure('passkeyOnly', 'Passkey only', org.passkeyOnly, percent(org.passkeyOnly, org.users)),
    figure('passkeyAndTotp', 'Passkey and authenticator app', org.passkeyAndTotp, percent(org.passkeyAndTotp, org.users)),
    figure('totpOnly', 'Authenticator app only', org.totpOnly, percent(org.totpOnly, org.users)),
    figure('noSecondFactor', 'No second factor', org.noSecondFactor, percent(org.noSecondFactor, org.users)),
    figure('withUnusedBackupCodes', 'Holding unused backup codes', org.withUnusedBackupCodes),
  );

  const series = data.adoptionOverTime;
  const chart = byId('chart');
  const first = series[0];
  const last = series.at(-1);
  byId('chart-hint').textContent = first && last ? `At the end of each day, ${dayLabel(first.day)} to ${dayLabel(last.day)} (UTC). Today: ${last.usersWithPasskey}.` : '';
  showView('dashboard', { focus: false });
  drawAdoptionChart(chart, series);
  let width = chart.clientWidth;
  new ResizeObserver(() => {
    if (chart.clientWidth !== width) {
      width = chart.clientWidth;
      drawAdoptionChart(chart, series);
    }
  }).observe(chart);
  byId('chart-table').querySelector('tbody')!.replaceChildren(
    ...series.map((point) => h('tr', {}, cell('th', h('time', { datetime: point.day }, dayLabel(point.day)), { scope: 'row' }), cell('td', String(point.usersWithPasskey)))),
  );

  byId('groups-table').querySelector('tbody')!.replaceChildren(
    ...data.groups.map((group) =>
      h(
        'tr',
        {},
        cell('th', groupLabel(group), { scope: 'row' }),
        cell('td', group.mode),
        cell('td', group.deadline ? timeElement(group.deadline, formatDay) : '—'),
        cell('td', daysLeftText(group.daysLeft)),
        ...[group.counts.users, group.counts.passkeyOnly, group.counts.passkeyAndTotp, group.counts.totpOnly, group.counts.noSecondFactor, group.counts.withUnusedBackupCodes].map((n) => cell('td', String(n))),
      ),
    ),
  );

  byId('totp-only').replaceChildren(
    ...data.groups.map((group) => {
      const heading = h('h3', {}, `${groupLabel(group)}: ${group.totpOnly.total}`);
      if (group.totpOnly.total === 0) return h('div', { class: 'totp-only-group' }, heading);
      const list = h(
        'ul',
        { class: 'compact-list' },
        ...group.totpOnly.users.map((user) => h('li', {}, userLink(user.id, user.username), h('span', { class: 'muted' }, ' · last sign-in '), timeElement(user.lastSignInAt))),
      );
      const more = group.totpOnly.total > group.totpOnly.users.length ? h('p', { class: 'hint' }, `and ${group.totpOnly.total - group.totpOnly.users.length} more`) : null;
      return h('div', { class: 'totp-only-group' }, heading, list, more);
    }),
  );

  const signIns = data.signIns;
  const total = Object.values(signIns.totals).reduce((sum, n) => sum + n, 0);
  byId('sign-in-totals').textContent =
    total === 0 ? 'No sign-ins in the last 30 days.' : `${total} sign-ins: ${signIns.methods.map((method) => `${METHOD_WORDS[method] ?? method} ${signIns.totals[method]} (${percent(signIns.totals[method] ?? 0, total)})`).join(', ')}.`;
  const table = byId('sign-ins-table');
  table.querySelector('thead')!.replaceChildren(h('tr', {}, cell('th', 'Day', { scope: 'col' }), ...signIns.methods.map((method) => cell('th', METHOD_WORDS[method] ?? method, { scope: 'col' })), cell('th', 'All', { scope: 'col' })));
  table.querySelector('tbody')!.replaceChildren(
    ...[...signIns.days].reverse().map((day) =>
      h('tr', {}, cell('th', h('time', { datetime: day.day }, dayLabel(day.day)), { scope: 'row' }), ...signIns.methods.map((method) => cell('td', String(day.byMethod[method] ?? 0))), cell('td', String(day.total))),
    ),
  );

  const exemptions = data.exemptions;
  byId('exemptions').replaceChildren(
    exemptions.total === 0
      ? h('p', { class: 'muted' }, 'Nobody is exempt.')
      : h(
          'div',
          { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'exemptions-title' },
          h(
            'table',
            {},
            h('thead', {}, h('tr', {}, cell('th', 'User', { scope: 'col' }), cell('th', 'Reason', { scope: 'col' }), cell('th', 'Until', { scope: 'col' }))),
            h('tbody', {}, ...exemptions.items.map((item) => h('tr', {}, cell('th', userLink(item.userId, item.username), { scope: 'row' }), cell('td', item.reason), cell('td', item.until ? timeElement(item.until, formatDay) : 'until lifted')))),
          ),
        ),
  );
}

// ——— User search ———

interface ListedUser {
  id: string;
  username: string;
  displayName: string;
  status: 'active' | 'disabled';
  isAdmin: boolean;
  factorState: FactorState;
}

async function showUsers(params: URLSearchParams): Promise<void> {
  const form = byId<HTMLFormElement>('search');
  const prefix = byId<HTMLInputElement>('search-prefix');
  const group = byId<HTMLSelectElement>('search-group');
  const state = byId<HTMLSelectElement>('search-state');
  const { groups } = await get<{ groups: Array<{ id: string; name: string; isDefault: boolean }> }>('/api/admin/groups', { purpose: 'see users' });
  group.append(...groups.filter((entry) => !entry.isDefault).map((entry) => h('option', { value: entry.id }, entry.name)));
  prefix.value = params.get('prefix') ?? '';
  group.value = params.get('group') ?? '';
  state.value = params.get('factorState') ?? '';
  showView('users', { focus: false });

  const results = byId('results');
  const more = byId<HTMLButtonElement>('more-results');
  let after: string | null = null;
  let shown = 0;
  // A newer search supersedes an older one still in flight: its late answer must not replace the newer results.
  let generation = 0;
  const load = async (reset: boolean) => {
    const mine = reset ? ++generation : generation;
    const query = new URLSearchParams({ limit: '50' });
    if (prefix.value.trim()) query.set('prefix', prefix.value.trim());
    if (group.value) query.set('group', group.value);
    if (state.value) query.set('factorState', state.value);
    if (!reset && after) query.set('after', after);
    const page = await get<{ users: ListedUser[]; nextAfter: string | null }>(`/api/admin/users?${query}`, { purpose: 'search users' });
    if (mine !== generation) return;
    if (reset) {
      results.replaceChildren();
      shown = 0;
    }
    results.append(
      ...page.users.map((user) =>
        h(
          'li',
          { class: 'item' },
          h(
            'div',
            { class: 'item-main' },
            h('p', { class: 'item-title' }, userLink(user.id, user.username), user.displayName !== user.username ? h('span', { class: 'muted' }, ` · ${user.displayName}`) : null),
            h('p', { class: 'item-meta' }, h('span', {}, STATE_WORDS[user.factorState]), user.status === 'disabled' ? h('span', { class: 'badge badge-danger' }, 'Disabled') : null, user.isAdmin ? h('span', { class: 'badge badge-neutral' }, 'Admin') : null),
          ),
        ),
      ),
    );
    shown += page.users.length;
    after = page.nextAfter;
    more.hidden = after === null;
    byId('results-summary').textContent = shown === 0 ? 'No user matches.' : `${shown} user${shown === 1 ? '' : 's'}${after ? ' so far' : ''}.`;
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const query = new URLSearchParams({ view: 'users' });
    if (prefix.value.trim()) query.set('prefix', prefix.value.trim());
    if (group.value) query.set('group', group.value);
    if (state.value) query.set('factorState', state.value);
    history.replaceState(null, '', `/admin?${query}`);
    void load(true).catch((error) => report(messages, error));
  });
  more.addEventListener('click', () => void withBusy(more, 'Loading…', () => load(false)).catch((error) => report(messages, error)));
  await load(true);
}

// ——— Recovery requests ———

async function showRecoveries(): Promise<void> {
  const panel = panelMessages('recovery-panel');
  const refresh = async () => {
    const requests = await loadRecoveries({}, 'see the recovery requests');
    renderRecoveryList(byId('recovery-list'), requests, { me, messages: panel, report, showUser: true, linkSlot: byId('recovery-link-slot'), refresh });
  };
  await refresh();
  showView('recovery', { focus: false });
}

/** A user's Recovery panel: their open request (if any) and, otherwise, "Start a recovery". */
async function renderUserRecovery(user: Profile['user']): Promise<void> {
  const panel = panelMessages('user-recovery');
  const refresh = async () => {
    const requests = await loadRecoveries({ userId: user.id }, "see this user's recovery");
    renderRecoveryList(byId('user-recovery-list'), requests, { me, messages: panel, report, showUser: false, userHasConfirmedEmail: user.emailVerified === true, linkSlot: byId('user-recovery-link-slot'), refresh });
    const start = byId('user-recovery-start');
    if (requests.length > 0) start.replaceChildren();
    else if (user.id === me.id) start.replaceChildren(h('p', { class: 'hint' }, 'You cannot start a recovery of your own account: ask another administrator.'));
    else if (user.status !== 'active') start.replaceChildren(h('p', { class: 'hint' }, 'This account is disabled: enable it before starting a recovery.'));
    else start.replaceChildren(recoveryForm(user.id, user.username, { messages: panel, report, refresh }));
  };
  byId('user-recovery-link-slot').replaceChildren();
  await refresh();
}

// ——— One user ———

interface Profile {
  user: { id: string; username: string; displayName: string; email: string | null; emailVerified?: boolean; status: 'active' | 'disabled'; isAdmin: boolean; createdAt: string; disabledAt: string | null };
  groups: Array<{ id: string; name: string; isDefault: boolean }>;
  exemption: { reason: string; expiresAt: string | null } | null;
  factors: Array<{ id: string; kind: string; label: string | null; authenticatorName: string | null; createdAt: string; lastUsedAt: string | null; flagged: boolean; flaggedReason?: string | null }>;
  sessions: Array<{ id: string; createdAt: string; lastSeenAt: string; amr: string[]; userAgent: string | null; clientAddress: string | null }>;
  audit: { events: Array<{ id: string; occurredAt: string; action: string; outcome: string; actorUserId: string | null; details: Record<string, unknown> }>; nextBefore: string | null };
}

function panelMessages(sectionId: string): Messages {
  const section = byId(sectionId);
  const existing = section.querySelector('.panel-head + .message');
  if (existing) existing.parentElement!.querySelectorAll(':scope > .message').forEach((node) => node.remove());
  const regions = messageRegions(sectionId);
  section.querySelector('.panel-head')!.after(regions.error, regions.status);
  return regions.messages;
}

const hidden = (text: string) => h('span', { class: 'visually-hidden' }, text);

async function showUser(userId: string): Promise<void> {
  const profile = await get<Profile>(`/api/admin/users/${encodeURIComponent(userId)}`, { purpose: "see this user's details" });
  renderUser(profile);
  await renderUserRecovery(profile.user);
  showView('user', { focus: false });
}

async function reloadUser(userId: string, after: () => void): Promise<void> {
  const profile = await get<Profile>(`/api/admin/users/${encodeURIComponent(userId)}`);
  renderUser(profile);
  await renderUserRecovery(profile.user);
  after();
}

const accountMessages = () => panelMessages('user-account');

function renderUser(profile: Profile): void {
  const { user } = profile;
  document.title = `${user.username} · Administration · Latch`;
  byId('user-title').textContent = user.username;
  byId('user-lead').textContent = user.displayName !== user.username ? user.displayName : '';

  // Account: status, groups, and disable / enable.
  const account = accountMessages();
  const toggle = h('button', { type: 'button', class: user.status === 'active' ? 'button button-danger-quiet button-small' : 'button button-secondary button-small', id: 'toggle-status' }, user.status === 'active' ? 'Disable account' : 'Enable account');
  toggle.addEventListener('click', async () => {
    const disabling = user.status === 'active';
    if (disabling && !(await confirmAction({ title: `Disable ${user.username}?`, body: 'Every session of this account ends now, and no sign-in works until it is enabled again.', confirmLabel: 'Disable', danger: true }))) return;
    await withBusy(toggle, disabling ? 'Disabling…' : 'Enabling…', async () => {
      try {
        await post(`/api/admin/users/${user.id}/${disabling ? 'disable' : 'enable'}`, {}, { purpose: disabling ? 'disable this account' : 'enable this account' });
        await reloadUser(user.id, () => accountMessages().status(disabling ? 'Disabled. Every session ended.' : 'Enabled.'));
      } catch (error) {
        report(account, error);
      }
    });
  });
  byId('account-body').replaceChildren(
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Status'),
      h('dd', {}, user.status === 'active' ? 'Active' : 'Disabled', user.disabledAt ? h('span', { class: 'muted' }, ' since ', timeElement(user.disabledAt)) : null),
      h('dt', {}, 'Role'),
      h('dd', {}, user.isAdmin ? 'Administrator' : 'Member'),
      h('dt', {}, 'Email'),
      h('dd', {}, user.email ?? '—'),
      h('dt', {}, 'Groups'),
      h('dd', {}, profile.groups.map(groupLabel).join(', ')),
      h('dt', {}, 'Created'),
      h('dd', {}, timeElement(user.createdAt)),
    ),
    user.id === me.id ? h('p', { class: 'hint' }, 'This is your own account.') : toggle,
  );

  // Exemption: grant (reason, optional end) or lift.
  const exemptionBody = byId('exemption-body');
  const exemptionMessages = panelMessages('user-exemption');
  const reason = h('input', { id: 'exemption-reason', class: 'input', maxlength: '500', required: true, value: profile.exemption?.reason ?? '' });
  const until = h('input', { id: 'exemption-until', class: 'input', type: 'date', value: profile.exemption?.expiresAt?.slice(0, 10) ?? '', 'aria-describedby': 'exemption-until-hint' });
  const grant = h('button', { type: 'submit', class: 'button button-primary button-small' }, profile.exemption ? 'Update exemption' : 'Grant exemption');
  const form = h(
    'form',
    { class: 'stack', novalidate: true, id: 'exemption-form' },
    h('div', { class: 'field' }, h('label', { for: 'exemption-reason' }, 'Reason'), reason),
    h('div', { class: 'field' }, h('label', { for: 'exemption-until' }, 'Until (optional)'), h('p', { class: 'hint', id: 'exemption-until-hint' }, 'Ends at the start of that day (UTC). Empty: until lifted.'), until),
    grant,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!reason.value.trim()) {
      exemptionMessages.error('Give a reason for the exemption.', reason);
      reason.focus();
      return;
    }
    await withBusy(grant, 'Saving…', async () => {
      try {
        await api('PUT', `/api/admin/users/${user.id}/exemption`, { reason: reason.value.trim(), expiresAt: until.value ? new Date(`${until.value}T00:00:00Z`).toISOString() : null }, { purpose: 'exempt this user' });
        await reloadUser(user.id, () => panelMessages('user-exemption').status('Exemption saved.'));
      } catch (error) {
        report(exemptionMessages, error);
      }
    });
  });
  const lift = profile.exemption ? h('button', { type: 'button', class: 'button button-danger-quiet button-small', id: 'lift-exemption' }, 'Lift exemption') : null;
  lift?.addEventListener('click', async () => {
    await withBusy(lift, 'Lifting…', async () => {
      try {
        await del(`/api/admin/users/${user.id}/exemption`, { purpose: 'lift this exemption' });
        await reloadUser(user.id, () => panelMessages('user-exemption').status('Exemption lifted.'));
      } catch (error) {
        report(exemptionMessages, error);
      }
    });
  });
  exemptionBody.replaceChildren(
    h('p', {}, profile.exemption ? `Exempt: ${profile.exemption.reason}${profile.exemption.expiresAt ? `, until ${formatDay(profile.exemption.expiresAt)}` : ', until lifted'}.` : 'Not exempt: the group rollout policy applies.'),
    form,
    ...(lift ? [lift] : []),
  );

  // Factors: what they are, never a secret; revoke, and clear a possible-clone flag.
  const factorMessages = panelMessages('user-factors');
  byId('factor-list').replaceChildren(
    ...(profile.factors.length === 0
      ? [h('li', { class: 'item muted' }, 'No sign-in methods.')]
      : profile.factors.map((factor) => {
          const name = factor.label ?? factor.authenticatorName ?? KIND_WORDS[factor.kind] ?? factor.kind;
          const actions = h('div', { class: 'item-actions' });
          if (factor.flagged) {
            const clear = h('button', { type: 'button', class: 'button button-secondary button-small' }, 'Clear flag', hidden(` on ${name}`));
            clear.addEventListener('click', async () => {
              await withBusy(clear, 'Clearing…', async () => {
                try {
                  await post(`/api/admin/users/${user.id}/factors/${factor.id}/clear-flag`, {}, { purpose: 'clear this flag' });
                  await reloadUser(user.id, () => panelMessages('user-factors').status('Flag cleared: the passkey signs in again.'));
                } catch (error) {
                  report(factorMessages, error);
                }
              });
            });
            actions.append(clear);
          }
          const revoke = h('button', { type: 'button', class: 'button button-danger-quiet button-small' }, 'Revoke', hidden(` ${name}`));
          revoke.addEventListener('click', async () => {
            if (!(await confirmAction({ title: `Revoke ${name}?`, body: `${user.username} can no longer sign in with it; sessions it opened end, and they are told.`, confirmLabel: 'Revoke', danger: true }))) return;
            await withBusy(revoke, 'Revoking…', async () => {
              try {
                await del(`/api/admin/users/${user.id}/factors/${factor.id}`, { purpose: 'revoke this sign-in method' });
                await reloadUser(user.id, () => panelMessages('user-factors').status(`${name} revoked.`));
              } catch (error) {
                report(factorMessages, error);
              }
            });
          });
          actions.append(revoke);
          return h(
            'li',
            { class: 'item' },
            h(
              'div',
              { class: 'item-main' },
              h('p', { class: 'item-title' }, name, factor.flagged ? h('span', { class: 'badge badge-danger' }, ' Possibly cloned') : null),
              h('p', { class: 'item-meta' }, h('span', {}, KIND_WORDS[factor.kind] ?? factor.kind), h('span', {}, 'added ', timeElement(factor.createdAt, formatDay)), h('span', {}, 'last used ', timeElement(factor.lastUsedAt))),
            ),
            actions,
          );
        })),
  );

  // Sessions.
  const sessionMessages = panelMessages('user-sessions');
  byId('user-session-list').replaceChildren(
    ...(profile.sessions.length === 0
      ? [h('li', { class: 'item muted' }, 'No live session.')]
      : profile.sessions.map((session) => {
          const end = h('button', { type: 'button', class: 'button button-danger-quiet button-small' }, 'End', hidden(` the session from ${formatDateTime(session.createdAt)}`));
          end.addEventListener('click', async () => {
            await withBusy(end, 'Ending…', async () => {
              try {
                await del(`/api/admin/sessions/${session.id}`, { purpose: 'end this session' });
                await reloadUser(user.id, () => panelMessages('user-sessions').status('Session ended.'));
              } catch (error) {
                report(sessionMessages, error);
              }
            });
          });
          return h(
            'li',
            { class: 'item' },
            h(
              'div',
              { class: 'item-main' },
              h('p', { class: 'item-title' }, describeUserAgent(session.userAgent)),
              h('p', { class: 'item-meta' }, h('span', {}, 'since ', timeElement(session.createdAt)), h('span', {}, 'last seen ', timeElement(session.lastSeenAt)), session.clientAddress ? h('span', {}, session.clientAddress) : null, h('span', {}, session.amr.join(' + '))),
            ),
            h('div', { class: 'item-actions' }, end),
          );
        })),
  );

  // Audit trail, newest first, a page at a time.
  const trail = byId('trail-list');
  const more = byId<HTMLButtonElement>('more-trail');
  const addEvents = (events: Profile['audit']['events']) =>
    trail.append(
      ...events.map((event) => {
        const method = typeof event.details.method === 'string' ? ` (${METHOD_WORDS[event.details.method] ?? event.details.method})` : '';
        const by = event.actorUserId && event.actorUserId !== user.id ? ' · by an administrator' : '';
        return h('li', {}, h('span', { class: 'what' }, `${event.action}${method}${event.outcome === 'success' ? '' : ` — ${event.outcome}`}${by}`), h('span', { class: 'when' }, timeElement(event.occurredAt)));
      }),
    );
  trail.replaceChildren();
  addEvents(profile.audit.events);
  let nextBefore = profile.audit.nextBefore;
  more.hidden = nextBefore === null;
  more.onclick = () =>
    void withBusy(more, 'Loading…', async () => {
      const page = await get<Profile>(`/api/admin/users/${user.id}?auditBefore=${encodeURIComponent(nextBefore!)}`);
      addEvents(page.audit.events);
      nextBefore = page.audit.nextBefore;
      more.hidden = nextBefore === null;
    }).catch((error) => report(messages, error));
}

// The CSV is a plain download (the browser saves it), so a stale proof would save a JSON error as
// the file: a cheap admin.read first lets the step-up dialog ask for the passkey, then it downloads.
byId<HTMLAnchorElement>('csv-link').addEventListener('click', async (event) => {
  if ((event.currentTarget as HTMLElement).dataset.ready === 'true') return;
  event.preventDefault();
  const link = event.currentTarget as HTMLAnchorElement;
  try {
    await get('/api/admin/groups', { purpose: 'download the user list' });
    link.dataset.ready = 'true';
    link.click();
    delete link.dataset.ready;
  } catch (error) {
    report(messages, error);
  }
});

// ——— Start ———

byId('sign-out').addEventListener('click', async (event) => {
  await withBusy(event.currentTarget as HTMLButtonElement, 'Signing out…', async () => {
    try {
      await del('/api/session', { redirectOnUnauthenticated: false });
    } catch {
      // Already signed out: the outcome is the same.
    }
    setFlash("You've signed out.");
    location.assign('/');
  });
});

async function start(): Promise<void> {
  installStepUp();
  setUnauthenticatedHandler(() => {
    setFlash('Your session has ended. Sign in again to continue.');
    location.assign(`/?next=${encodeURIComponent('/admin')}`);
  });
  const current = await currentSession().catch(() => null);
  if (!current) {
    location.replace(`/?next=${encodeURIComponent(location.pathname + location.search)}`);
    return;
  }
  me = current.user;
  byId('who').textContent = `Signed in as ${me.username}`;
  const params = new URLSearchParams(location.search);
  const userId = params.get('user');
  const requested = params.get('view');
  const view = userId ? 'user' : requested === 'users' || requested === 'recovery' ? requested : 'dashboard';
  byId(view === 'dashboard' ? 'nav-dashboard' : view === 'recovery' ? 'nav-recovery' : 'nav-users').setAttribute('aria-current', 'page');
  try {
    if (userId) await showUser(userId);
    else if (view === 'users') await showUsers(params);
    else if (view === 'recovery') await showRecoveries();
    else await showDashboard();
  } catch (error) {
    report(messages, error);
  } finally {
    byId('loading').hidden = true;
  }
}

void start();
