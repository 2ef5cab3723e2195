import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { describeInBrowser, expectView, expectVisible, launchBrowser, openTab, PHONE_VIEWPORT, screenshot, startLatch, type Latch } from './helpers.ts';

describeInBrowser('a browser without WebAuthn', () => {
  let latch: Latch;
  let browser: Browser;

  beforeAll(async () => {
    [latch, browser] = await Promise.all([startLatch(), launchBrowser()]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await latch?.close();
  });

  it('journey 5: is offered the password and code fallback, and told why', async () => {
    const { page, context } = await openTab(browser, { webauthn: 'absent', viewport: PHONE_VIEWPORT });
    await page.goto(`${latch.url}/`);
    await expectView(page, 'password');
    await expectVisible(page.locator('#no-webauthn'));
    expect(await page.locator('#no-webauthn').textContent()).toContain("can't use passkeys");
    // No way back to a passkey here: there is none to use.
    expect(await page.locator('#back-to-passkey').isVisible()).toBe(false);
    expect(await page.locator('#pw-username').getAttribute('autocomplete')).toBe('username');
    await screenshot(page, 'no-webauthn-sign-in');

    await page.getByRole('link', { name: 'Create an account' }).click();
    await expectView(page, 'password');
    await expectVisible(page.locator('#no-webauthn'));
    await screenshot(page, 'no-webauthn-sign-up');
    await context.close();
  });
});
