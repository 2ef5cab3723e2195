import { expect, it } from 'vitest';
import { describeInBrowser, expectAccessible, expectHidden, expectVisible, openTab, signUpWithAuthenticatorApp, signUpWithPasskey, totp, useServerAndBrowser, PASSWORD, waitForStatus } from './helpers.ts';

/**
 * Issue 12, point 3: an account that rests on one device-bound passkey is one lost phone from
 * gone, and nothing said so.
 */
describeInBrowser('an account with a single way in says so until it has another', () => {
  const env = useServerAndBrowser();

  it('after a passkey sign-up the account page warns; a password alone does not end it; an authenticator app with it does', async () => {
    const { page } = await openTab(env.browser);
    await signUpWithPasskey(page, env.latch);
    const warning = page.locator('#single-way-in');
    await expectVisible(warning);
    expect(await warning.textContent()).toContain('one way in');
    await expectAccessible(page, 'account: single way in');
    expect(await page.locator('#passkey-list [data-kind="passkey"]').count()).toBe(1);

    // The warning's next steps are buttons that start them (issue 12, point 3).
    const actions = warning.getByRole('button');
    expect(await actions.allTextContents()).toEqual(['Add another passkey', 'Set a password']);
    // The passkey was named after the browser it was made in, and its sign-up counts as a use (point 5).
    const item = page.locator('#passkey-list [data-kind="passkey"]');
    expect(await item.locator('.item-title').textContent()).toContain('Chrome on Linux');
    expect(await item.textContent()).not.toContain('Not used yet');

    await warning.getByRole('button', { name: 'Set a password' }).click();
    await page.locator('#new-password').fill(PASSWORD);
    await page.locator('#new-password-again').fill(PASSWORD);
    await page.locator('#password-body').getByRole('button', { name: 'Set password' }).click();
    await waitForStatus(page, 'Password set.');
    await expectVisible(warning);
    expect(await actions.allTextContents()).toEqual(['Add another passkey', 'Set up authenticator app', 'Create backup codes']);

    await warning.getByRole('button', { name: 'Set up authenticator app' }).click();
    const secret = (await page.locator('#account-totp-secret').getAttribute('data-secret')) ?? '';
    await page.locator('#account-totp-code').fill(totp(secret, env.latch.clock.now()));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await expectVisible(page.locator('#backup-codes'));
    await expectHidden(warning);
  });

  it('an account made with a password and an authenticator app gets no such warning', async () => {
    const { page } = await openTab(env.browser);
    await signUpWithAuthenticatorApp(page, env.latch);
    await page.locator('#totp-body [data-kind="totp"]').waitFor();
    expect(await page.locator('#single-way-in').isHidden()).toBe(true);
  });
});
