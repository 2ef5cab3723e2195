import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { expectAccessible } from './helpers.ts';
import {
  describeInBrowser,
  errorText,
  expectAccountPage,
  expectHidden,
  expectView,
  expectVisible,
  nextCode,
  openTab,
  readyForButton,
  PHONE_VIEWPORT,
  screenshot,
  signOut,
  signUpWithAuthenticatorApp,
  totp,
  PASSWORD,
  signUpWithPasskey,
  useServerAndBrowser, statusText, waitForStatus,
} from './helpers.ts';

/** Past the five minutes within which adding or removing a factor needs no fresh proof. */
const STEP_UP_DUE_SECONDS = 6 * 60;

function passkeyItems(page: Page) {
  return page.locator('#passkey-list [data-kind="passkey"]');
}

describeInBrowser('account security journeys', () => {
  const env = useServerAndBrowser();

  it('journey 3: an authenticator-app user adds a passkey (confirming with a code when due) and signs in with it', async () => {
    const tab = await openTab(env.browser);
    const { page } = tab;
    const user = await signUpWithAuthenticatorApp(page, env.latch, { username: 'alex' });
    expect(await passkeyItems(page).count()).toBe(0);

    env.latch.clock.advance(STEP_UP_DUE_SECONDS);
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    const dialog = page.locator('#step-up');
    await expectVisible(dialog);
    // The user has no passkey yet, so the dialog asks only for a code.
    expect(await dialog.locator('#step-up-passkey').count()).toBe(0);
    await screenshot(page, 'step-up-dialog');
    await expectAccessible(page, 'step-up-dialog');
    await dialog.locator('#step-up-code').fill(nextCode(env.latch, user));
    await dialog.getByRole('button', { name: 'Confirm with code' }).click();
    await expectHidden(dialog);
    // The action the user asked for went on by itself: the passkey is there, no reload.
    await passkeyItems(page).first().waitFor({ timeout: 15_000 });
    expect(await passkeyItems(page).count()).toBe(1);
    expect(await statusText(page)).toContain('Passkey added');

    // Name it, by keyboard: the name shows in the list.
    await passkeyItems(page).first().getByRole('button', { name: /^Rename/ }).click();
    await page.getByLabel('Passkey name').fill('Work laptop');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#passkey-list .item-title')?.textContent?.includes('Work laptop'));
    expect(await statusText(page)).toContain('Renamed');
    await screenshot(page, 'account-passkey-added', { docs: 'account' });
    await expectAccessible(page, 'account-passkey-added');

    await tab.setPresence(false);
    await signOut(page);
    await expectView(page, 'passkey');
    await readyForButton(tab);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expectAccountPage(page);
    expect(await page.locator('#session-list [data-current="true"]').textContent()).toContain('Passkey');
    await tab.context.close();
  });

  it('journey 4: removing a passkey asks for a step-up; then it is gone and cannot sign in', async () => {
    const tab = await openTab(env.browser, { viewport: PHONE_VIEWPORT });
    const { page } = tab;
    const user = await signUpWithAuthenticatorApp(page, env.latch);
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await passkeyItems(page).first().waitFor({ timeout: 15_000 });
    const saved = await tab.credentials();
    expect(saved).toHaveLength(1);

    env.latch.clock.advance(STEP_UP_DUE_SECONDS);
    await passkeyItems(page).first().getByRole('button', { name: /^Remove/ }).click();
    await page.locator('#confirm-yes').click(); // "Remove passkey" in the are-you-sure dialog
    const dialog = page.locator('#step-up');
    await expectVisible(dialog);
    await screenshot(page, 'step-up-dialog-phone');
    await expectAccessible(page, 'step-up-dialog-phone');
    // The passkey was added in this session, so it cannot confirm this session: only the code is offered.
    expect(await dialog.locator('#step-up-passkey').count()).toBe(0);
    await dialog.locator('#step-up-code').fill(nextCode(env.latch, user));
    await dialog.getByRole('button', { name: 'Confirm with code' }).click();
    await expectHidden(dialog);
    await page.waitForFunction(() => document.querySelectorAll('#passkey-list [data-kind="passkey"]').length === 0);
    expect(await statusText(page)).toContain('Passkey removed');
    await screenshot(page, 'account-passkey-removed-phone');
    await expectAccessible(page, 'account-passkey-removed-phone');

    // The page told the password manager which passkeys the server still accepts (none): it forgot this one.
    await expect.poll(async () => (await tab.credentials()).length, { timeout: 5_000 }).toBe(0);

    // A copy that missed the signal (another browser's password manager) is refused by the server …
    await tab.addCredentials(saved);
    await tab.setPresence(false);
    await signOut(page);
    await expectView(page, 'passkey');
    await readyForButton(tab);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    expect(await errorText(page)).toMatch(/isn't linked to a Latch account/);
    expect(new URL(page.url()).pathname).toBe('/');
    await screenshot(page, 'sign-in-removed-passkey-phone');
    await expectAccessible(page, 'sign-in-removed-passkey-phone');
    // … and the page tells the authenticator to forget it (signalUnknownCredential).
    await expect.poll(async () => (await tab.credentials()).length, { timeout: 5_000 }).toBe(0);
    await tab.context.close();
  });

  it('a passkey user sets a password and an authenticator app, then replaces the backup codes after a step-up', async () => {
    const tab = await openTab(env.browser);
    const { page } = tab;
    await signUpWithPasskey(page, env.latch);

    await page.locator('#password-body').getByRole('button', { name: 'Set a password' }).click();
    await page.locator('#new-password').fill(PASSWORD);
    await page.locator('#new-password-again').fill(PASSWORD);
    await page.locator('#password-body').getByRole('button', { name: 'Set password' }).click();
    await waitForStatus(page, 'Password set.');

    await page.locator('#totp-body').getByRole('button', { name: 'Set up authenticator app' }).click();
    const secret = (await page.locator('#account-totp-secret').getAttribute('data-secret')) ?? '';
    await page.locator('#account-totp-code').fill(totp(secret, env.latch.clock.now()));
    await page.getByRole('button', { name: 'Turn on' }).click();
    // No backup codes yet: the first set comes with the app, shown once.
    await expectVisible(page.locator('#backup-codes'));
    const first = await page.locator('#backup-codes li').allTextContents();
    await screenshot(page, 'account-app-added-codes');
    await expectAccessible(page, 'account-app-added-codes');
    await page.getByLabel('I saved these codes').check();
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.locator('#codes-remaining').textContent()).toContain(`${first.length} of ${first.length}`);
    expect(await page.locator('#totp-body [data-kind="totp"]').count()).toBe(1);

    env.latch.clock.advance(STEP_UP_DUE_SECONDS);
    await page.getByRole('button', { name: 'Create new codes' }).click();
    await page.locator('#confirm-yes').click();
    const dialog = page.locator('#step-up');
    await expectVisible(dialog);
    // The app was set up in this session, so it cannot confirm this session: only the passkey is offered.
    expect(await dialog.locator('#step-up-code').count()).toBe(0);
    await dialog.getByRole('button', { name: 'Use your passkey' }).click();
    await expectHidden(dialog);
    await expectVisible(page.locator('#backup-codes'));
    const second = await page.locator('#backup-codes li').allTextContents();
    expect(second).toHaveLength(first.length);
    expect(second.some((code) => first.includes(code))).toBe(false);
    await tab.context.close();
  });
});
