import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { createUser } from '../../src/users/users.ts';
import { insertFactor } from '../helpers/app.ts';
import {
  describeInBrowser,
  expectAccessible,
  expectAccountPage,
  expectHidden,
  expectView,
  expectVisible,
  openTab,
  PHONE_VIEWPORT,
  readyForButton,
  screenshot,
  signOut,
  signUpWithPasskey,
  uniqueUsername,
  useServerAndBrowser,
} from './helpers.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const dayOf = (at: Date) => at.toISOString().slice(0, 10);

describeInBrowser('administration journeys', () => {
  const env = useServerAndBrowser();

  it('an admin signs in with a passkey, opens /admin, sees the figures and the adoption chart; a stale proof asks for the passkey again', async () => {
    const tab = await openTab(env.browser, { viewport: { width: 1280, height: 900 } });
    const { page } = tab;
    const db = env.latch.server.db;
    const username = await signUpWithPasskey(page, env.latch, uniqueUsername('admin'));
    await db.updateTable('users').set({ is_admin: true }).where('username', '=', username).execute();

    // Two more people: one with a passkey for ten days, one on an authenticator app only.
    const now = env.latch.clock.now();
    const early = (await createUser(db, { username: uniqueUsername('early') }, new Date(now.getTime() - 20 * DAY_MS)))!;
    await insertFactor(db, early.id, { kind: 'passkey', created_at: new Date(now.getTime() - 10 * DAY_MS) }, new Date(now.getTime() - 10 * DAY_MS));
    const app = (await createUser(db, { username: uniqueUsername('app') }, now))!;
    await insertFactor(db, app.id, { kind: 'totp' }, now);

    // Sign in again with the passkey: a fresh proof, so the dashboard opens without asking.
    await tab.setPresence(false);
    await signOut(page);
    await expectView(page, 'passkey');
    await readyForButton(tab);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expectAccountPage(page);

    await page.goto(`${env.latch.url}/admin`);
    await expectVisible(page.locator('#adoption-chart'));
    const figure = async (key: string) => (await page.locator(`[data-figure="${key}"] .figure`).textContent())?.trim();
    expect(await figure('users')).toBe('3');
    expect(await figure('passkeyOnly')).toBe('2');
    expect(await figure('totpOnly')).toBe('1');
    expect(await page.locator('#totp-only').textContent()).toContain(app.username);

    // The chart: 90 days, each a point; the early user from ten days ago, the admin from today.
    const points = await page.locator('#adoption-chart circle.chart-point').evaluateAll((circles) => circles.map((circle) => ({ day: circle.getAttribute('data-day'), value: Number(circle.getAttribute('data-value')) })));
    expect(points).toHaveLength(90);
    const today = dayOf(env.latch.clock.now());
    const tenDaysAgo = dayOf(new Date(env.latch.clock.now().getTime() - 10 * DAY_MS));
    expect(points.at(-1)).toEqual({ day: today, value: 2 });
    expect(points.find((point) => point.day === tenDaysAgo)).toEqual({ day: tenDaysAgo, value: 1 });
    expect(points[0]!.value).toBe(0);
    expect(points.map((point) => point.value)).toEqual([...points.map((point) => point.value)].sort((a, b) => a - b));
    // Accessible: a title and description, and the same figures as a table.
    expect(await page.locator('#adoption-chart title').textContent()).toBe('Users with a passkey, per day');
    expect(await page.locator('#adoption-chart desc').textContent()).toContain('0 to 2 users with a passkey');
    expect(await page.locator('#chart-table tbody tr').count()).toBe(90);
    // The polyline joins the same points.
    expect((await page.locator('#adoption-chart polyline').getAttribute('points'))!.split(' ')).toHaveLength(90);
    await screenshot(page, 'admin-dashboard');
    await expectAccessible(page, 'admin dashboard at 1280 px');

    // A phone: the chart is redrawn for the width, its labels stay readable, nothing scrolls sideways.
    await page.setViewportSize(PHONE_VIEWPORT);
    await page.waitForFunction(() => Number(document.querySelector('#adoption-chart')?.getAttribute('width')) <= 375);
    const fontSize = await page.locator('#adoption-chart .chart-label').first().evaluate((label) => label.getBoundingClientRect().height);
    expect(fontSize).toBeGreaterThanOrEqual(10);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await screenshot(page, 'admin-dashboard-phone');
    await expectAccessible(page, 'admin dashboard at 375 px');

    // The CSV link is there (its content is tested on the API).
    expect(await page.getByRole('link', { name: 'Download the user list (CSV)' }).getAttribute('href')).toBe('/api/admin/adoption/users.csv');

    // Sixteen minutes on, the proof is stale: the page asks for the passkey, then shows the figures.
    await page.setViewportSize({ width: 1280, height: 900 });
    env.latch.clock.advance(16 * 60);
    await page.reload();
    const dialog = page.locator('#step-up');
    await expectVisible(dialog);
    expect(await dialog.locator('#step-up-code').count()).toBe(0);
    await expectAccessible(page, 'admin step-up');
    await dialog.locator('#step-up-passkey').click();
    await expectHidden(dialog);
    await expectVisible(page.locator('#adoption-chart'));
    expect(await figure('users')).toBe('3');

    // The CSV downloads (each user with their factor state).
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download the user list (CSV)' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^latch-users-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = await readFile((await download.path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toBe('username,display_name,status,groups,factor_state,passkeys,has_totp,unused_backup_codes,last_sign_in');
    expect(csv).toContain(`${app.username},${app.username},active,,totp_only,0,true,0,`);

    // Users: search by state, open one, see their page.
    await page.getByRole('link', { name: 'Users' }).click();
    await expectVisible(page.locator('#search'));
    await page.getByLabel('Signs in with').selectOption('totp_only');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('#results-summary').textContent(), { timeout: 15_000 }).toBe('1 user.');
    expect(await page.locator('#results .item').count()).toBe(1);
    await page.getByRole('link', { name: app.username }).waitFor({ timeout: 15_000 });
    await expectAccessible(page, 'admin user search');
    await page.getByRole('link', { name: app.username }).click();
    await expectVisible(page.locator('#factor-list'));
    expect(await page.locator('#user-title').textContent()).toBe(app.username);
    expect(await page.locator('#factor-list').textContent()).toContain('Authenticator app');
    await expectAccessible(page, 'admin user page');

    // Grant an exemption, then see it on the dashboard.
    await page.getByLabel('Reason').fill('No phone until January');
    await page.getByRole('button', { name: 'Grant exemption' }).click();
    await page.getByRole('button', { name: 'Lift exemption' }).waitFor({ timeout: 15_000 });
    await page.getByRole('link', { name: 'Adoption' }).click();
    await expectVisible(page.locator('#adoption-chart'));
    expect(await page.locator('#exemptions').textContent()).toContain('No phone until January');
    await tab.context.close();
  });
});
