import { expect, it } from 'vitest';
import type { BrowserTab } from './helpers.ts';
import { describeInBrowser, expectAccountPage, expectVisible, openTab, signUpWithPasskey, uniqueUsername, useServerAndBrowser } from './helpers.ts';

/** A JSON call from the tab's page, with its cookies and Origin (as the admin dashboard would make it). */
async function call(tab: BrowserTab, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return tab.page.evaluate(
    async ([method, path, body]) => {
      const response = await fetch(path as string, { method: method as string, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
      return { status: response.status, body: await response.json() };
    },
    [method, path, body] as const,
  );
}

describeInBrowser('recovery journey', () => {
  // A one-hour wait, so the user's old session (idle 1 h, absolute 24 h) is still alive when the recovery completes.
  const env = useServerAndBrowser({ LATCH_RECOVERY_WAIT_HOURS: '1' });

  it('admin A opens, admin B approves, time passes, the user follows the link and registers a passkey; the old session is refused', async () => {
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

    const opened = await call(a, 'POST', '/api/admin/recovery', { userId: user.id, reason: 'lost phone and security key; identity checked in person' });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    const id = opened.body.request.id as string;
    expect((await call(a, 'POST', `/api/admin/recovery/${id}/approve`)).body.error.code).toBe('recovery_same_admin');
    const approved = await call(b, 'POST', `/api/admin/recovery/${id}/approve`);
    expect(approved.body.request).toMatchObject({ status: 'waiting' });
    expect((await call(b, 'POST', `/api/admin/recovery/${id}/link`)).body.error.code).toBe('recovery_waiting');

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

    // B signs in again (a fresh passkey proof) and, the user having no address, gets the link once.
    await b.page.goto(`${env.latch.url}/`);
    await expectAccountPage(b.page);
    const link = await call(b, 'POST', `/api/admin/recovery/${id}/link`);
    expect(link.status, JSON.stringify(link.body)).toBe(200);
    expect((await call(b, 'POST', `/api/admin/recovery/${id}/link`)).status).toBe(409);

    // The user, on a new device, follows it and registers a passkey.
    const newDevice = await openTab(env.browser);
    await newDevice.page.goto(link.body.url);
    await expectVisible(newDevice.page.locator('#enroll-recovery-note'));
    await newDevice.page.getByRole('button', { name: 'Create passkey' }).click();
    await expectAccountPage(newDevice.page);
    expect(await newDevice.page.locator('#passkey-list [data-kind="passkey"]').count()).toBe(1);

    // The old session is refused.
    await userTab.page.reload();
    await userTab.page.waitForURL((url) => url.pathname === '/', { timeout: 15_000 });
    const factors = await db.selectFrom('factors').select(['status', 'revoked_reason']).where('user_id', '=', user.id).execute();
    expect(factors.map((factor) => [factor.status, factor.revoked_reason]).sort()).toEqual([['active', null], ['revoked', 'recovery']]);
    expect((await db.selectFrom('recovery_requests').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status).toBe('completed');
  });
});
