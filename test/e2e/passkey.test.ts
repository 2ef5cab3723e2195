import { expect, it } from 'vitest';
import { expectAccessible } from './helpers.ts';
import {
  describeInBrowser,
  expectAccountPage,
  expectView,
  openTab,
  readyForButton,
  PHONE_VIEWPORT,
  screenshot,
  signOut,
  statusText,
  uniqueUsername,
  signUpWithPasskey,
  useServerAndBrowser,
} from './helpers.ts';

describeInBrowser('passkey journeys', () => {
  const env = useServerAndBrowser();

  it('journey 1: create an account with a passkey, sign in with the button, then through autofill', async () => {
    const tab = await openTab(env.browser);
    const { page } = tab;
    const username = uniqueUsername('pk');

    await page.goto(`${env.latch.url}/signup`);
    await expectView(page, 'passkey');
    await screenshot(page, 'sign-up');
    await expectAccessible(page, 'sign-up');
    await page.locator('#username').fill(username);
    await page.getByRole('button', { name: 'Create account with a passkey' }).click();
    await expectAccountPage(page);
    expect(await page.locator('#who').textContent()).toContain(username);
    expect(await page.locator('#passkey-list [data-kind="passkey"]').count()).toBe(1);
    expect(await tab.credentials()).toHaveLength(1);

    // Signed out, autofill waits for the user (the authenticator does not answer by itself) …
    await tab.setPresence(false);
    await signOut(page);
    await expectView(page, 'passkey');
    expect(await statusText(page)).toContain("You've signed out");
    expect(await page.locator('#username').getAttribute('autocomplete')).toBe('username webauthn');
    await screenshot(page, 'sign-in');
    await expectAccessible(page, 'sign-in');

    // … who picks "Sign in with a passkey" instead: no username needed.
    await readyForButton(tab);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expectAccountPage(page);
    await screenshot(page, 'account-passkey-user');
    await expectAccessible(page, 'account-passkey-user');

    // Signed out again: this time the passkey autofill request started on load answers.
    await signOut(page);
    await expectAccountPage(page);
    expect(await page.locator('#session-list [data-current="true"]').textContent()).toContain('Passkey');
    await tab.context.close();
  });

  it('the button wins when the autofill request is still starting (a late autofill does not cancel it)', async () => {
    const tab = await openTab(env.browser);
    const { page } = tab;
    await signUpWithPasskey(page, env.latch);
    await tab.setPresence(false);
    await signOut(page);
    await expectView(page, 'passkey');

    // The page's autofill options arrive late (a slow network): they are held until the user has
    // clicked and the button's request waits at the authenticator. The user ignores the autofill
    // and takes a moment to touch the authenticator: the button's request is held until the late
    // autofill has arrived and the page has dealt with it — by asking the browser for a
    // conditional request (which cancels the button's) or by giving up (an AbortError). The
    // virtual authenticator answers at once, so the page's WebAuthn calls are wrapped; the
    // autofill's request waits for a user who never picks from it.
    await page.addInitScript(() => {
      const journey = { buttonWaiting: false, autofillDealtWith: () => {} };
      (window as unknown as { journey: typeof journey }).journey = journey;
      const autofillDone = new Promise<void>((resolve) => {
        journey.autofillDealtWith = resolve;
      });
      const NativeDOMException = DOMException;
      window.DOMException = class extends NativeDOMException {
        constructor(message?: string, name?: string) {
          super(message, name);
          if (name === 'AbortError') journey.autofillDealtWith();
        }
      } as typeof DOMException;
      const get = navigator.credentials.get.bind(navigator.credentials);
      navigator.credentials.get = async (options?: CredentialRequestOptions) => {
        if (options?.mediation === 'conditional') {
          journey.autofillDealtWith();
          return new Promise((_, reject) => {
            options.signal?.addEventListener('abort', () => reject(new NativeDOMException('The request was aborted.', 'AbortError')));
          });
        }
        journey.buttonWaiting = true;
        await autofillDone;
        return get(options);
      };
    });
    let first = true;
    await page.route('**/api/signin/passkey/options', async (route) => {
      if (first) {
        first = false;
        await page
          .waitForFunction(() => (window as unknown as { journey?: { buttonWaiting: boolean } }).journey?.buttonWaiting === true, undefined, { timeout: 15_000 })
          .catch(() => undefined); // the page went away (the test failed elsewhere): let the request go
      }
      await route.continue().catch(() => undefined);
    });
    const autofillAsked = page.waitForRequest('**/api/signin/passkey/options');
    await page.reload();
    await expectView(page, 'passkey');
    await autofillAsked; // the autofill's options are on their way (and held): the next request is the button's
    await tab.setPresence(true);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expectAccountPage(page);
    await tab.context.close();
  });

  it('the sign-in page is keyboard-usable with a visible focus', async () => {
    const tab = await openTab(env.browser);
    const { page } = tab;
    await tab.setPresence(false);
    await page.goto(`${env.latch.url}/`);
    await expectView(page, 'passkey');
    await screenshot(page, 'sign-in-clean', { docs: 'sign-in' });
    await expectAccessible(page, 'sign-in-clean');

    const reached: string[] = [];
    for (let press = 0; press < 8; press += 1) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const element = document.activeElement as HTMLElement | null;
        if (!element || element === document.body) return null;
        const style = getComputedStyle(element);
        return { id: element.id || element.textContent?.trim() || element.tagName, outline: style.outlineStyle, width: style.outlineWidth };
      });
      if (!focused) continue;
      reached.push(focused.id);
      // Every stop shows where the focus is.
      expect(focused.outline, `focus ring on ${focused.id}`).not.toBe('none');
    }
    expect(reached).toEqual(expect.arrayContaining(['username', 'passkey-button', 'to-password']));
    expect(reached.indexOf('username')).toBeLessThan(reached.indexOf('passkey-button'));

    // Enter on the fallback button leads on, by keyboard alone.
    await page.locator('#to-password').focus();
    await page.keyboard.press('Enter');
    await expectView(page, 'password');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('password-title');
    await tab.context.close();
  });

  it('the sign-in page works on a phone-sized screen', async () => {
    const tab = await openTab(env.browser, { viewport: PHONE_VIEWPORT });
    await tab.setPresence(false);
    await tab.page.goto(`${env.latch.url}/`);
    await expectView(tab.page, 'passkey');
    // Nothing wider than the screen.
    expect(await tab.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE_VIEWPORT.width);
    await screenshot(tab.page, 'sign-in-phone');
    await expectAccessible(tab.page, 'sign-in-phone');
    await tab.context.close();
  });
});
