import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import bcrypt from 'bcryptjs';
import { expect, it } from 'vitest';
import { readJsonl } from '../../src/import/adapters/jsonl.ts';
import { importUsers } from '../../src/import/import-users.ts';
import {
  describeInBrowser,
  expectAccessible,
  expectAccountPage,
  expectView,
  openTab,
  PASSWORD,
  screenshot,
  signInWithPasswordAndCode,
  signOut,
  uniqueUsername,
  useServerAndBrowser,
  type AppUser,
} from './helpers.ts';

const DAY_SECONDS = 24 * 3600;

/** A fresh authenticator-app key in base32, as the old system would export it (20 random bytes). */
function legacyTotpSecret(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return Array.from(randomBytes(32), (byte) => alphabet[byte & 31]).join('');
}

/**
 * The organization's passkey rollout, in Chromium, for a user brought in by the importer: the
 * old system's bcrypt hash and authenticator-app key go in through `importUsers` (the code
 * behind `latch import`), the user signs in with that password and the code their app already
 * shows (computed by test/helpers/authenticator.ts, an RFC 6238 of its own, from the imported
 * key), is invited in an `encouraged` group and skips; the group then requires a passkey from a
 * deadline, the server's clock passes it, the next sign-in lands on the restricted page, which
 * survives a reload and enrolls a passkey, after which the session is an ordinary one.
 */
describeInBrowser('passkey rollout journeys', () => {
  const env = useServerAndBrowser();

  it('journey: an imported TOTP user is invited, skips, later is required and enrolls a passkey', async () => {
    const { latch } = env;
    const db = latch.server.db;

    // Imported: a bcrypt hash and a TOTP key from the old system, into the cohort's group.
    const user: AppUser = { username: uniqueUsername('imported-totp'), password: PASSWORD, secret: legacyTotpSecret(), backupCodes: [] };
    const line = { username: user.username, displayName: 'Imported Person', passwordHash: bcrypt.hashSync(PASSWORD, 10), totp: { secret: user.secret } };
    const summary = await importUsers(
      { db, keyring: latch.config.keys!, config: latch.config },
      readJsonl(Readable.from([Buffer.from(`${JSON.stringify(line)}\n`)])),
      { dryRun: false, linkTtlSeconds: 3600, now: latch.clock.now(), group: 'cohort-2026', format: 'jsonl' },
    );
    expect(summary).toMatchObject({ imported: 1, failed: 0, needEnrollment: 0 });
    const { id: userId } = await db.selectFrom('users').select('id').where('username', '=', user.username).executeTakeFirstOrThrow();
    const passwordHash = async () =>
      (await db.selectFrom('factors').select('password_hash').where('user_id', '=', userId).where('kind', '=', 'password').where('status', '=', 'active').executeTakeFirstOrThrow()).password_hash;
    expect(await passwordHash()).toMatch(/^\$2[aby]\$/);
    const group = await db.selectFrom('groups').selectAll().where('name', '=', 'cohort-2026').executeTakeFirstOrThrow();
    await db.updateTable('groups').set({ rollout_mode: 'encouraged' }).where('id', '=', group.id).execute();

    const tab = await openTab(env.browser);
    const { page } = tab;
    // This journey is about the invitation: the automatic (conditional create) upgrade is left
    // out (test/e2e/automatic-upgrade.test.ts has it).
    await page.addInitScript(() => {
      const credential = (window as { PublicKeyCredential?: { getClientCapabilities?: unknown } }).PublicKeyCredential;
      if (credential) credential.getClientCapabilities = async () => ({ conditionalCreate: false });
    });

    // Encouraged: the imported password and app code sign in at once, then the invitation; "Not now" is remembered.
    await page.goto(`${latch.url}/`);
    await signInWithPasswordAndCode(page, latch, user);
    await expectView(page, 'invite');
    await expectAccessible(page, 'sign-in: the organization invites a passkey');
    await page.getByRole('button', { name: 'Not now' }).click();
    await expectAccountPage(page);
    expect(await page.locator('#who').textContent()).toContain(user.username);
    await expect.poll(async () => (await db.selectFrom('user_rollout').select('invite_skipped_at').where('user_id', '=', userId).executeTakeFirst())?.invite_skipped_at ?? null).not.toBeNull();
    // The legacy hash was re-hashed at that first sign-in.
    expect(await passwordHash()).toMatch(/^\$argon2id\$/);

    // Required in 10 days: the invitation counts the days down (a skip does not silence it).
    const deadline = new Date(latch.clock.now().getTime() + 10 * DAY_SECONDS * 1000);
    await db.updateTable('groups').set({ rollout_mode: 'required', passkey_deadline: deadline }).where('id', '=', group.id).execute();
    await signOut(page);
    await signInWithPasswordAndCode(page, latch, user);
    await expectView(page, 'invite');
    expect(await page.locator('#invite-deadline').textContent()).toMatch(/requires a passkey from .*: 10 days left\./);
    await screenshot(page, 'sign-in-passkey-deadline-coming');
    await expectAccessible(page, 'sign-in: a passkey is required soon');
    await page.getByRole('button', { name: 'Not now' }).click();
    await expectAccountPage(page);

    // The server's clock passes the deadline: the next sign-in is restricted.
    await signOut(page);
    latch.clock.advance(10 * DAY_SECONDS + 60);
    await signInWithPasswordAndCode(page, latch, user);
    await expectView(page, 'restricted');
    expect(await page.locator('#restricted-why').textContent()).toMatch(/requires a passkey to sign in since /);
    await screenshot(page, 'sign-in-passkey-required');
    await expectAccessible(page, 'sign-in: a passkey is required');

    // The account is closed to it (a reload comes back here), and the API says why.
    await page.goto(`${latch.url}/account`);
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

    // An ordinary session now: no rollout notice, the API open, the account page after a reload.
    const after = await page.evaluate(async () => {
      const session = (await (await fetch('/api/session')).json()) as { rollout: unknown };
      const factors = await fetch('/api/factors');
      return { rollout: session.rollout, factors: factors.status, kinds: ((await factors.json()) as { kind: string }[]).map((factor) => factor.kind).sort() };
    });
    expect(after).toEqual({ rollout: null, factors: 200, kinds: expect.arrayContaining(['passkey', 'totp']) });
    await page.reload();
    await expectAccountPage(page);
    await tab.context.close();
  });
});
