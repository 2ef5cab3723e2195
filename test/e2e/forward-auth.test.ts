import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { haveNginx, startProtectedApp, type ProtectedApp } from '../helpers/nginx.ts';
import {
  describeInBrowser,
  expectAccessible,
  expectPath,
  launchBrowser,
  openTab,
  readyForButton,
  signOut,
  signUpWithPasskey,
  startLatch,
  type Latch,
} from './helpers.ts';

/**
 * An app behind a real nginx that asks Latch with `auth_request` (docs/forward-auth.md): the
 * browser is sent to Latch's sign-in, signs in with a passkey, and lands back in the app through
 * the /continue page; a path whose rule asks for a fresh phishing-resistant proof gets the passkey
 * step-up on the way. Cookies do not depend on the port, so the app on localhost:<nginx port>
 * receives Latch's host-only session cookie for localhost, as a subdomain would with
 * LATCH_COOKIE_DOMAIN.
 */
describeInBrowser('forward-auth journeys (a real nginx in front of an app)', () => {
  let latch: Latch;
  let browser: Browser;
  let app: ProtectedApp;
  let folder: string;

  beforeAll(async () => {
    if (!haveNginx()) return;
    folder = await mkdtemp(join(tmpdir(), 'latch-fa-rules-'));
    const rules = join(folder, 'rules.json');
    await writeFile(rules, JSON.stringify({ rules: [{ host: 'localhost', path: '/vault', phishingResistant: true, maxAgeSeconds: 600 }] }));
    [latch, browser] = await Promise.all([startLatch({ env: { LATCH_FORWARD_AUTH_RULES_FILE: rules } }), launchBrowser()]);
    app = await startProtectedApp({ latchPort: Number(new URL(latch.url).port), serverName: 'localhost', html: true });
  }, 240_000);

  afterAll(async () => {
    await app?.close();
    await browser?.close();
    await latch?.close();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it.runIf(haveNginx())('signed out, the app sends the browser to Latch; a passkey later it is back in the app, signed in', async () => {
    const tab = await openTab(browser);
    const { page } = tab;
    const username = await signUpWithPasskey(page, latch);
    await tab.setPresence(false);
    await signOut(page);

    const appUrl = `http://localhost:${app.port}/reports?q=1`;
    await page.goto(appUrl);
    await expectPath(page, '/signin');
    expect(new URL(page.url()).origin).toBe(latch.url);
    await expectAccessible(page, 'sign-in on the way to an app');
    await readyForButton(tab);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();

    await page.waitForURL(appUrl, { timeout: 15_000 });
    expect(await page.locator('#who').textContent()).toBe(username);
    expect(await page.locator('#aal').textContent()).toBe('2');
    expect(await page.locator('#path').textContent()).toBe('/reports?q=1');

    // Signed out at Latch, the app is closed again.
    await page.goto(`${latch.url}/account`);
    await signOut(page);
    await page.goto(appUrl);
    await expectPath(page, '/signin');
    await tab.context.close();
  });

  it.runIf(haveNginx())('a path whose rule asks for a fresh passkey proof gets the step-up on the way, then the app', async () => {
    const tab = await openTab(browser);
    const { page } = tab;
    const username = await signUpWithPasskey(page, latch);
    const vaultUrl = `http://localhost:${app.port}/vault/keys`;

    // Fresh from sign-up, the rule is met at once.
    await page.goto(vaultUrl);
    expect(await page.locator('#who').textContent()).toBe(username);

    // Eleven minutes on, the proof is older than the rule's ten: Latch asks for the passkey first.
    latch.clock.advance(11 * 60);
    await page.goto(vaultUrl);
    await expectPath(page, '/continue');
    const dialog = page.locator('#step-up');
    await dialog.waitFor({ state: 'visible', timeout: 15_000 });
    await expectAccessible(page, 'step-up on the way to an app');
    await dialog.locator('#step-up-passkey').click();

    await page.waitForURL(vaultUrl, { timeout: 15_000 });
    expect(await page.locator('#who').textContent()).toBe(username);
    await tab.context.close();
  });
});
