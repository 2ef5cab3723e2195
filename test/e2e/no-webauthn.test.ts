import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import { hashPassword } from '../../src/factors/password.ts';
import { readJsonl } from '../../src/import/adapters/jsonl.ts';
import { importUsers } from '../../src/import/import-users.ts';
import { expectAccessible, expectAccountPage, PASSWORD, signInWithPasswordAndCode, signOut, totp, uniqueUsername } from './helpers.ts';
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

  it('an imported user without a second factor opens their link, sets up an authenticator app (keeping the imported password), saves backup codes, and signs in with them later', async () => {
    const username = uniqueUsername('imported');
    let link = '';
    const { latch } = env;
    await importUsers(
      { db: latch.server.db, keyring: latch.config.keys!, config: latch.config },
      readJsonl(Readable.from([Buffer.from(`${JSON.stringify({ username, passwordHash: await hashPassword(PASSWORD) })}\n`)])),
      { dryRun: false, linkTtlSeconds: 3600, now: latch.clock.now(), writeLink: (_name, url) => { link = url; } },
    );
    expect(link).toContain('/enroll#token=');

    const { page, context } = await openTab(env.browser, { webauthn: 'absent', viewport: PHONE_VIEWPORT });
    await page.goto(`${latch.url}/enroll${link.slice(link.indexOf('#'))}`);
    await expectView(page, 'no-passkeys');
    await expectAccessible(page, 'enroll link: no passkeys, the app offered');
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await expectView(page, 'app-password');
    await expectAccessible(page, 'enroll link: password');
    // The imported password stays: the field is left empty.
    await page.getByRole('button', { name: 'Continue' }).click();
    await expectView(page, 'app-setup');
    const secret = (await page.locator('#enroll-totp-secret').getAttribute('data-secret')) ?? '';
    expect(secret).toMatch(/^[A-Z2-7]+$/);
    await expectAccessible(page, 'enroll link: authenticator app');
    await page.locator('#enroll-totp-code').fill(totp(secret, latch.clock.now()));
    await page.getByRole('button', { name: 'Confirm and sign in' }).click();
    await expectView(page, 'app-codes');
    expect(await page.locator('#backup-codes li').count()).toBeGreaterThan(0);
    await expectAccessible(page, 'enroll link: backup codes');
    await page.getByLabel('I saved these codes').check();
    await page.getByRole('button', { name: 'Continue to your account' }).click();
    await expectAccountPage(page);
    expect(await page.locator('#who').textContent()).toContain(username);

    // The link is spent; the imported password and the app's code sign in.
    await signOut(page);
    await signInWithPasswordAndCode(page, latch, { username, password: PASSWORD, secret, backupCodes: [] });
    await expectAccountPage(page);
    await page.goto(`${latch.url}/enroll${link.slice(link.indexOf('#'))}`);
    await expectView(page, 'invalid');
    await context.close();
  });
});
