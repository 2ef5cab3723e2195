import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { BrowserTab } from './helpers.ts';
import {
  describeInBrowser,
  expectAccessible,
  expectAccountPage,
  expectHidden,
  expectVisible,
  openTab,
  signUpWithPasskey,
  uniqueUsername,
  useServerAndBrowser,
  waitForError,
  waitForStatus,
} from './helpers.ts';

/** A JSON call from the tab's page, with its cookies and Origin (only to check what the pages must not allow). */
async function call(tab: BrowserTab, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return tab.page.evaluate(
    async ([method, path, body]) => {
      const response = await fetch(path as string, { method: method as string, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
      return { status: response.status, body: await response.json() };
    },
    [method, path, body] as const,
  );
}

/** The admin pages ask for the passkey when the proof is stale: answer the step-up dialog. */
async function confirmWithPasskey(page: Page): Promise<void> {
  const dialog = page.locator('#step-up');
  await expectVisible(dialog);
  await dialog.locator('#step-up-passkey').click();
  await expectHidden(dialog);
}

describeInBrowser('recovery journey', () => {
  // A one-hour wait, so the user's old session (idle 1 h, absolute 24 h) is still alive when the recovery completes.
  const env = useServerAndBrowser({ LATCH_RECOVERY_WAIT_HOURS: '1' });

  it('admin A opens, admin B approves on the admin pages, time passes, the user follows the link and registers a passkey; the old session is refused', async () => {
    const db = env.latch.server.db;
    const userTab = await openTab(env.browser);
    const username = await signUpWithPasskey(userTab.page, env.latch);
    const user = await db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow();

    const adminTab = async () => {
      const tab = await openTab(env.browser);
      const name = await signUpWithPasskey(tab.page, env.latch, uniqueUsername('admin'));
      await db.updateTable('users').set({ is_admin: true }).where('username', '=', name).execute();
      return tab;
    };
    const a = await adminTab();
    const b = await adminTab();

    // Admin A, on the user's page: "Start a recovery" with a reason. Six minutes after A's last
    // passkey proof, the action asks for it again (the step-up dialog), then goes through.
    await a.page.goto(`${env.latch.url}/admin?user=${user.id}`);
    await expectVisible(a.page.locator('#recovery-form'));
    await expectAccessible(a.page, 'admin user page: start a recovery');
    env.latch.clock.advance(6 * 60);
    await a.page.getByRole('button', { name: 'Start a recovery' }).click();
    await waitForError(a.page, 'Give a reason', '#user-recovery');
    await a.page.getByLabel('What happened').fill('lost phone and security key; identity checked in person');
    await a.page.getByRole('button', { name: 'Start a recovery' }).click();
    await confirmWithPasskey(a.page);
    await waitForStatus(a.page, 'Recovery opened. Another administrator must approve it.', { scope: '#user-recovery' });
    const item = a.page.locator('#user-recovery-list [data-recovery-id]');
    await expectVisible(item);
    const id = (await item.getAttribute('data-recovery-id'))!;
    expect(await item.getAttribute('data-status')).toBe('requested');
    expect(await item.textContent()).toContain('lost phone and security key');
    expect(await a.page.locator('#recovery-form').count()).toBe(0);

    // A cannot approve their own request: the server's refusal is shown where A clicked.
    await a.page.getByRole('button', { name: 'Approve this recovery' }).click();
    await waitForError(a.page, 'A second administrator must approve this recovery', '#user-recovery');
    await expectAccessible(a.page, 'admin user page: own request refused');

    // Admin B, on the Recovery view: the request awaits approval; B approves it (a fresh proof first).
    env.latch.clock.advance(10 * 60);
    await b.page.goto(`${env.latch.url}/admin`);
    await confirmWithPasskey(b.page);
    await b.page.getByRole('link', { name: 'Recovery' }).click();
    const pending = b.page.locator(`#recovery-list [data-recovery-id="${id}"]`);
    await expectVisible(pending);
    expect(await pending.textContent()).toContain(username);
    await expectAccessible(b.page, 'admin recovery view');
    env.latch.clock.advance(6 * 60);
    await b.page.getByRole('button', { name: `Approve ${username}'s recovery` }).click();
    await confirmWithPasskey(b.page);
    await waitForStatus(b.page, 'Approved. The waiting period has started; the user has been told.', { scope: '#recovery-panel' });
    await b.page.waitForFunction((requestId) => document.querySelector(`[data-recovery-id="${requestId}"]`)?.getAttribute('data-status') === 'waiting', id, { timeout: 15_000 });
    const waitEnds = await pending.locator('.wait-ends time').getAttribute('datetime');
    expect(new Date(waitEnds!).getTime() - env.latch.clock.now().getTime()).toBeGreaterThan(59 * 60 * 1000);
    // Before the wait is over, the link is refused, and the page says until when.
    await b.page.getByRole('button', { name: `Show the link ${username}'s recovery` }).click();
    await b.page.locator('#confirm-yes').click();
    await waitForError(b.page, 'The waiting period ends at', '#recovery-panel');
    expect(await b.page.locator('#recovery-link').count()).toBe(0);

    // The user's session from before the request shows it prominently, with a way to cancel.
    await userTab.page.reload();
    await expectAccountPage(userTab.page);
    await expectVisible(userTab.page.locator('#pending-recovery'));
    await expectVisible(userTab.page.getByRole('button', { name: 'Cancel the recovery' }));

    // Time passes; the old session stays in use (say, a thief's).
    env.latch.clock.advance(50 * 60);
    await userTab.page.reload();
    await expectAccountPage(userTab.page);
    env.latch.clock.advance(11 * 60);

    // B comes back (their session idled out: signing in again is the fresh passkey proof) and, the
    // user having no address, is shown the link once, with a warning and a copy button.
    await b.page.goto(`${env.latch.url}/admin?view=recovery`);
    await b.page.locator('#step-up, #recovery-list [data-recovery-id]').first().waitFor({ timeout: 15_000 });
    if (await b.page.locator('#step-up').isVisible()) await confirmWithPasskey(b.page);
    await b.page.getByRole('button', { name: `Show the link ${username}'s recovery` }).click();
    await b.page.locator('#confirm-yes').click();
    if (await b.page.locator('#step-up').isVisible()) await confirmWithPasskey(b.page);
    const shown = b.page.locator('#recovery-link');
    await expectVisible(shown);
    expect(await shown.textContent()).toContain('Shown only this once');
    const url = await b.page.getByRole('textbox', { name: 'Recovery link' }).inputValue();
    expect(url).toMatch(new RegExp(`^${env.latch.url}/enroll#token=`));
    await b.page.getByRole('button', { name: 'Copy the link' }).click();
    await waitForStatus(b.page, 'copied', { scope: '#recovery-panel', contains: true }).catch(() => waitForStatus(b.page, 'the link is selected', { scope: '#recovery-panel', contains: true }));
    await expectAccessible(b.page, 'admin recovery: the link, once');
    // Once: the request now says the link went to the approver, and there is no second showing.
    await b.page.waitForFunction((requestId) => document.querySelector(`[data-recovery-id="${requestId}"]`)?.getAttribute('data-status') === 'ready', id, { timeout: 15_000 });
    expect(await b.page.getByRole('button', { name: `Show the link ${username}'s recovery` }).count()).toBe(0);
    expect((await call(b, 'POST', `/api/admin/recovery/${id}/link`)).status).toBe(409);

    // The user, on a new device, follows it and registers a passkey.
    const newDevice = await openTab(env.browser);
    await newDevice.page.goto(url);
    await expectVisible(newDevice.page.locator('#enroll-recovery-note'));
    await newDevice.page.getByRole('button', { name: 'Create passkey' }).click();
    await expectAccountPage(newDevice.page);
    expect(await newDevice.page.locator('#passkey-list [data-kind="passkey"]').count()).toBe(1);

    // The old session is refused.
    await userTab.page.reload();
    await userTab.page.waitForURL((address) => address.pathname === '/', { timeout: 15_000 });
    const factors = await db.selectFrom('factors').select(['status', 'revoked_reason']).where('user_id', '=', user.id).execute();
    expect(factors.map((factor) => [factor.status, factor.revoked_reason]).sort()).toEqual([['active', null], ['revoked', 'recovery']]);
    const request = await db.selectFrom('recovery_requests').select(['status', 'opened_by', 'approved_by']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(request.status).toBe('completed');
    expect(request.opened_by).not.toBe(request.approved_by);
  });
});
