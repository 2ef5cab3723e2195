import { expect, it } from 'vitest';
import {
  describeInBrowser,
  expectAccessible,
  expectAccountPage,
  expectView,
  openTab,
  screenshot,
  signInWithPasswordAndCode,
  signOut,
  signUpWithAuthenticatorApp,
  useServerAndBrowser,
} from './helpers.ts';

/**
 * The organization's passkey rollout, in Chromium: a TOTP user in an `encouraged` group is
 * invited after signing in with password + code and skips; the group then requires a passkey
 * (deadline passed), the next sign-in lands on the restricted page, which survives a reload and
 * enrolls a passkey, after which the account opens.
 */
describeInBrowser('passkey rollout journeys', () => {
  const env = useServerAndBrowser();

  it('journey: a TOTP user is invited, skips, is later required and enrolls a passkey', async () => {
    const tab = await openTab(env.browser);
    const { page } = tab;
    // This journey is about the invitation: the automatic (conditional create) upgrade is left out.
    await page.addInitScript(() => {
      const credential = (window as { PublicKeyCredential?: { getClientCapabilities?: unknown } }).PublicKeyCredential;
      if (credential) credential.getClientCapabilities = async () => ({ conditionalCreate: false });
    });
    const db = env.latch.server.db;
    const user = await signUpWithAuthenticatorApp(page, env.latch);
    const { id: userId } = await db.selectFrom('users').select('id').where('username', '=', user.username).executeTakeFirstOrThrow();
    const now = env.latch.clock.now();
    const group = await db
      .insertInto('groups')
      .values({ name: 'cohort-2026', rollout_mode: 'encouraged', passkey_deadline: null, retire_totp_after_passkey_sign_ins: null, created_at: now, updated_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
    await db.insertInto('group_members').values({ group_id: group.id, user_id: userId, added_at: now }).execute();

    // Encouraged: invited after the fallback sign-in, and "Not now" is remembered.
    await signOut(page);
    await signInWithPasswordAndCode(page, env.latch, user);
    await expectView(page, 'invite');
    await expectAccessible(page, 'sign-in: the organization invites a passkey');
    await page.getByRole('button', { name: 'Not now' }).click();
    await expectAccountPage(page);
    await expect.poll(async () => (await db.selectFrom('user_rollout').select('invite_skipped_at').where('user_id', '=', userId).executeTakeFirst())?.invite_skipped_at ?? null).not.toBeNull();

    // Required in 10 days: the invitation counts the days down (a skip does not silence it).
    const coming = new Date(env.latch.clock.now().getTime() + 10 * 24 * 3600 * 1000);
    await db.updateTable('groups').set({ rollout_mode: 'required', passkey_deadline: coming }).where('id', '=', group.id).execute();
    await signOut(page);
    await signInWithPasswordAndCode(page, env.latch, user);
    await expectView(page, 'invite');
    expect(await page.locator('#invite-deadline').textContent()).toMatch(/requires a passkey from .*: 10 days left\./);
    await screenshot(page, 'sign-in-passkey-deadline-coming');
    await expectAccessible(page, 'sign-in: a passkey is required soon');
    await page.getByRole('button', { name: 'Not now' }).click();
    await expectAccountPage(page);

    // Required, deadline passed: the next sign-in is restricted.
    const deadline = env.latch.clock.now();
    await db.updateTable('groups').set({ rollout_mode: 'required', passkey_deadline: deadline }).where('id', '=', group.id).execute();
    await signOut(page);
    await signInWithPasswordAndCode(page, env.latch, user);
    await expectView(page, 'restricted');
    expect(await page.locator('#restricted-why').textContent()).toMatch(/requires a passkey to sign in since /);
    await screenshot(page, 'sign-in-passkey-required');
    await expectAccessible(page, 'sign-in: a passkey is required');

    // The account is closed to it (a reload comes back here), and the API says why.
    await page.goto(`${env.latch.url}/account`);
    await expectView(page, 'restricted');
    const refused = await page.evaluate(async () => {
      const response = await fetch('/api/factors');
      return { status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code };
    });
    expect(refused).toEqual({ status: 403, code: 'passkey_required' });

    // Enroll: the fallback's proof is minutes old, so no step-up is asked.
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await expectAccountPage(page);
    expect(await tab.credentials()).toHaveLength(1);
    const session = await page.evaluate(async () => ((await (await fetch('/api/session')).json()) as { rollout: unknown }).rollout);
    expect(session).toBeNull();
    await tab.context.close();
  });
});
