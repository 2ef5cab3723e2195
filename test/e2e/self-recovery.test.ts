import { expect, it } from 'vitest';
import { createUser } from '../../src/users/users.ts';
import { describeInBrowser, expectAccessible, expectView, expectVisible, openTab, uniqueUsername, useServerAndBrowser, waitForError } from './helpers.ts';

describeInBrowser('self-service recovery from the sign-in page (LATCH_SELF_RECOVERY=email)', () => {
  const env = useServerAndBrowser({ LATCH_SELF_RECOVERY: 'email' });

  it('"Lost every way to sign in?": a username or address, then the same neutral answer whether or not the account exists', async () => {
    const db = env.latch.server.db;
    const owner = (await createUser(db, { username: uniqueUsername('owner') }, env.latch.clock.now()))!;
    await db.updateTable('users').set({ email: 'owner@example.test', email_verified_at: env.latch.clock.now() }).where('id', '=', owner.id).execute();

    const answerFor = async (identifier: string) => {
      const { page, context } = await openTab(env.browser);
      await page.goto(`${env.latch.url}/`);
      await expectView(page, 'passkey');
      await page.getByRole('button', { name: 'Lost every way to sign in?' }).click();
      await expectView(page, 'lost');
      expect(await page.locator('#lost-title').evaluate((heading) => heading === document.activeElement)).toBe(true);
      expect(await page.locator('#lost-wait').textContent()).toBe(' of 3 days');
      await expectAccessible(page, 'sign-in: lost every way to sign in');
      await page.getByRole('button', { name: 'Ask to recover my account' }).click();
      await waitForError(page, 'Enter your username or email address.');
      await page.getByLabel('Username or email address').fill(identifier);
      await page.getByRole('button', { name: 'Ask to recover my account' }).click();
      await expectView(page, 'lost-sent');
      await expectAccessible(page, 'sign-in: recovery asked');
      const text = (await page.locator('[data-view="lost-sent"]').textContent())!.replace(/\s+/g, ' ').trim();
      // Back to signing in, nothing else changed on this page.
      await page.getByRole('button', { name: 'Back to sign in' }).last().click();
      await expectView(page, 'passkey');
      await context.close();
      return text;
    };

    const forOwner = await answerFor(owner.username);
    expect(forOwner).toContain('If an account matches and has a confirmed email address');
    expect(await answerFor(uniqueUsername('nobody'))).toBe(forOwner);
    expect(await answerFor('nobody@example.test')).toBe(forOwner);
    // Only the real account's request opened (after the answer), waiting 72 hours.
    await expect.poll(async () => (await db.selectFrom('recovery_requests').select(['user_id', 'mode', 'status']).execute()).map((row) => [row.user_id, row.mode, row.status]), { timeout: 15_000 }).toEqual([[owner.id, 'self', 'waiting']]);
  });
});

describeInBrowser('self-service recovery is off by default', () => {
  const env = useServerAndBrowser();

  it('the sign-in page has no "Lost every way to sign in?" form', async () => {
    const { page, context } = await openTab(env.browser, { webauthn: 'absent' });
    await page.goto(`${env.latch.url}/`);
    await expectView(page, 'password');
    // The page asked the server (and heard "not offered"): the link stays hidden.
    await page.waitForLoadState('networkidle');
    expect(await page.locator('#lost-link').isHidden()).toBe(true);
    expect(await page.getByRole('button', { name: 'Lost every way to sign in?' }).count()).toBe(0);
    await expectVisible(page.locator('#signup-link'));
    await context.close();
  });
});
