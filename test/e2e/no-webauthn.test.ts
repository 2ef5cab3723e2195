import { expect, it } from 'vitest';
import { expectAccessible } from './helpers.ts';
import { describeInBrowser, expectView, expectVisible, openTab, PHONE_VIEWPORT, screenshot, useServerAndBrowser } from './helpers.ts';

describeInBrowser('a browser without WebAuthn', () => {
  const env = useServerAndBrowser();

  it('journey 5: is offered the password and code fallback, and told why', async () => {
    const { page, context } = await openTab(env.browser, { webauthn: 'absent', viewport: PHONE_VIEWPORT });
    await page.goto(`${env.latch.url}/`);
    await expectView(page, 'password');
    await expectVisible(page.locator('#no-webauthn'));
    expect(await page.locator('#no-webauthn').textContent()).toContain("can't use passkeys");
    // No way back to a passkey here: there is none to use.
    expect(await page.locator('#back-to-passkey').isVisible()).toBe(false);
    expect(await page.locator('#pw-username').getAttribute('autocomplete')).toBe('username');
    await screenshot(page, 'no-webauthn-sign-in');
    await expectAccessible(page, 'no-webauthn-sign-in');

    await page.getByRole('link', { name: 'Create an account' }).click();
    await expectView(page, 'password');
    await expectVisible(page.locator('#no-webauthn'));
    await screenshot(page, 'no-webauthn-sign-up');
    await expectAccessible(page, 'no-webauthn-sign-up');
    await context.close();
  });
});
