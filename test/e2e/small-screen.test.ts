import { expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  describeInBrowser,
  expectAccessible,
  expectAccountPage,
  expectInViewport,
  expectView,
  expectVisible,
  openTab,
  PHONE_VIEWPORT,
  signInWithPasswordAndCode,
  skipPasskeyInvite,
  totp,
  useServerAndBrowser,
  waitForStatus,
  PASSWORD,
  uniqueUsername,
  type AppUser,
} from './helpers.ts';

/** Past the five minutes within which adding a factor needs no fresh proof. */
const STEP_UP_DUE_SECONDS = 6 * 60;

function wrongCodeFor(secret: string, now: Date): string {
  const valid = new Set([-1, 0, 1].map((step) => totp(secret, new Date(now.getTime() + step * 30_000))));
  for (let n = 0; ; n++) {
    const candidate = String(n).padStart(6, '0');
    if (!valid.has(candidate)) return candidate;
  }
}

/** The id of the focused element, or what holds it (`#sessions`), as a CSS test. */
async function focusIsWithin(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((scope) => {
    const active = document.activeElement;
    return active !== null && active !== document.body && active.closest(scope) !== null;
  }, selector);
}

/**
 * Issue 12, points 4 and 9, on a 375×740 phone: an error sits next to its field and is seen
 * without scrolling; a panel's result appears beside its list, with focus kept there; a cancelled
 * dialog gives focus back; buttons are big enough to touch and say which item they act on; the
 * signed-in header stays one row. axe-core checks each state on the way.
 */
describeInBrowser('on a phone, results and errors appear where the user looks', () => {
  const env = useServerAndBrowser();

  it('sign-up: a wrong code is shown beside the code field, in view; the account page is touchable, and ending a session says so beside the list', async () => {
    const { page } = await openTab(env.browser, { viewport: PHONE_VIEWPORT });
    const username = uniqueUsername('phone');
    await page.goto(`${env.latch.url}/signup`);
    await expectView(page, 'passkey');
    await expectAccessible(page, 'sign-up, passkey (phone)');

    // An empty username is said beside the username field.
    await page.getByRole('button', { name: 'Create account with a passkey' }).click();
    const usernameError = page.locator('#username-error');
    await expectInViewport(usernameError);
    expect(await page.locator('#username').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#username').getAttribute('aria-describedby')).toContain('username-error');
    await expectAccessible(page, 'sign-up, passkey, username missing (phone)');

    await page.getByRole('button', { name: "My device can't use passkeys" }).click();
    await expectView(page, 'password');
    await expectAccessible(page, 'sign-up, password (phone)');
    await page.locator('#pw-username').fill(username);
    await page.locator('#new-password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expectView(page, 'totp');
    await expectAccessible(page, 'sign-up, authenticator app (phone)');
    const secret = (await page.locator('#signup-totp-secret').getAttribute('data-secret')) ?? '';

    const code = page.locator('#signup-totp-code');
    await code.fill(wrongCodeFor(secret, env.latch.clock.now()));
    await page.getByRole('button', { name: 'Confirm and create account' }).click();
    const codeError = page.locator('#signup-totp-code-error');
    await expectInViewport(codeError);
    expect(await codeError.textContent()).toContain("didn't match");
    expect(await code.getAttribute('aria-invalid')).toBe('true');
    expect((await code.getAttribute('aria-describedby'))?.split(' ')).toContain('signup-totp-code-error');
    await expectAccessible(page, 'sign-up, wrong code (phone)');

    // Typing again takes the message away.
    await code.fill(totp(secret, env.latch.clock.now()));
    expect(await code.getAttribute('aria-invalid')).toBeNull();
    await page.getByRole('button', { name: 'Confirm and create account' }).click();
    await expectView(page, 'codes');
    await expectAccessible(page, 'sign-up, backup codes (phone)');
    const backupCodes = (await page.locator('#backup-codes li').allTextContents()).map((text) => text.trim());
    await page.getByLabel('I saved these codes').check();
    await page.locator('#codes-continue').click();
    await expectAccountPage(page);
    await expectAccessible(page, 'account page (phone)');
    const user: AppUser = { username, password: PASSWORD, secret, backupCodes };

    // Point 9: the header is one row, not a narrow column; every button is at least 44 px high.
    const header = await page.locator('.brand-bar').boundingBox();
    expect(header!.height).toBeLessThan(80);
    const who = await page.locator('#who').boundingBox();
    expect(who!.height).toBeLessThan(30);
    const shortButtons = await page.evaluate(() => Array.from(document.querySelectorAll<HTMLElement>('button, a.button'))
      .filter((element) => element.offsetParent !== null)
      .map((element) => ({ text: element.textContent?.trim() ?? '', height: element.getBoundingClientRect().height }))
      .filter(({ height }) => height < 44));
    expect(shortButtons).toEqual([]);

    // Two more sessions from another browser: each "End session" button names its own.
    for (let i = 0; i < 2; i++) {
      const other = await openTab(env.browser);
      await other.page.goto(`${env.latch.url}/`);
      await signInWithPasswordAndCode(other.page, env.latch, user);
      await skipPasskeyInvite(other.page);
      await other.context.close();
    }
    await page.reload();
    await expectAccountPage(page);
    const ends = page.locator('#session-list').getByRole('button', { name: /^End session/ });
    expect(await ends.count()).toBe(2);
    const names = await ends.evaluateAll((buttons) => buttons.map((button) => button.textContent ?? ''));
    expect(new Set(names).size).toBe(2);
    for (const name of names) expect(name.startsWith('End session')).toBe(true);

    await ends.first().scrollIntoViewIfNeeded();
    await ends.first().click();
    await waitForStatus(page, 'Signed out', { scope: '#sessions', contains: true });
    await expectInViewport(page.locator('#sessions-status'));
    expect(await focusIsWithin(page, '#sessions')).toBe(true);
    expect(await ends.count()).toBe(1);
    await expectAccessible(page, 'account page, a session ended (phone)');

    // A cancelled step-up dialog gives focus back to the button that opened it.
    env.latch.clock.advance(STEP_UP_DUE_SECONDS);
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    const dialog = page.locator('#step-up');
    await expectVisible(dialog);
    await expectAccessible(page, 'step-up dialog (phone)');
    await dialog.locator('#step-up-code').fill(wrongCodeFor(secret, env.latch.clock.now()));
    await dialog.getByRole('button', { name: 'Confirm with code' }).click();
    await expectInViewport(dialog.locator('#step-up-code-error'));
    await expectAccessible(page, 'step-up dialog, wrong code (phone)');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForFunction(() => document.activeElement?.id === 'add-passkey');
    await waitForStatus(page, 'Cancelled. Nothing was changed.', { scope: '#passkeys' });
  });
});
