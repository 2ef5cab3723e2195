import { expect, it } from 'vitest';
import {
  describeInBrowser,
  expectAccountPage,
  expectView,
  openTab,
  signInWithPasswordAndCode,
  signOut,
  signUpWithAuthenticatorApp,
  statusText,
  useServerAndBrowser,
  type BrowserTab,
} from './helpers.ts';

/** The page's wrapped `navigator.credentials.create`: the handle to let a held request go. */
interface UpgradeProbe {
  hold: boolean;
  release: (() => void) | null;
}

type CreationRequest = CredentialCreationOptions & { mediation?: CredentialMediationRequirement };

/** The mediations the page asked `create` with, kept in sessionStorage (the page moves on to /account). */
const MEDIATIONS_KEY = 'test.create-mediations';

/**
 * Chromium here reports `getClientCapabilities().conditionalCreate === true`, but a
 * `create({ mediation: 'conditional' })` never settles with the virtual authenticator (Chrome
 * creates one only when its own password manager just filled a password for that user, which a
 * headless test profile never has). So the page's `navigator.credentials.create` is wrapped: it
 * records the mediation the client asked with (in sessionStorage) and hands the same request to the virtual
 * authenticator as an ordinary one, which creates a real credential the server verifies. With
 * `hold`, it waits until the test releases it (the test moves the server's clock meanwhile).
 */
async function wrapCredentialsCreate(tab: BrowserTab, options: { hold: boolean }): Promise<void> {
  await tab.page.addInitScript(([hold, key]) => {
    const probe: UpgradeProbe = { hold, release: null };
    (window as unknown as { upgradeProbe: UpgradeProbe }).upgradeProbe = probe;
    const create = navigator.credentials.create.bind(navigator.credentials);
    navigator.credentials.create = async (request?: CreationRequest) => {
      sessionStorage.setItem(key, JSON.stringify([...(JSON.parse(sessionStorage.getItem(key) ?? '[]') as unknown[]), request?.mediation ?? null]));
      if (request?.mediation !== 'conditional') return create(request);
      if (probe.hold) await new Promise<void>((resolve) => (probe.release = resolve));
      const { mediation: _conditional, ...modal } = request;
      return create(modal);
    };
  }, [options.hold, MEDIATIONS_KEY] as const);
}

const mediationsAsked = (tab: BrowserTab) => tab.page.evaluate((key) => JSON.parse(sessionStorage.getItem(key) ?? '[]') as (string | null)[], MEDIATIONS_KEY);

describeInBrowser('automatic passkey upgrade (conditional create)', () => {
  const env = useServerAndBrowser();

  it('right after a password + code sign-in the client asks with mediation conditional; the passkey is made without a prompt and the user is told', async () => {
    const tab = await openTab(env.browser);
    const { page } = tab;
    await wrapCredentialsCreate(tab, { hold: false });
    const user = await signUpWithAuthenticatorApp(page, env.latch);
    await signOut(page);
    expect(await page.evaluate(async () => (await PublicKeyCredential.getClientCapabilities()).conditionalCreate)).toBe(true);

    await signInWithPasswordAndCode(page, env.latch, user);
    // No invitation: straight on to the account, told afterwards what happened.
    await expectAccountPage(page);
    await expect.poll(() => statusText(page)).toContain('Your password manager saved a passkey for this account.');
    expect(await mediationsAsked(tab)).toEqual(['conditional']);
    expect(await tab.credentials()).toHaveLength(1);
    const db = env.latch.server.db;
    const passkeys = await db
      .selectFrom('factors')
      .innerJoin('users', 'users.id', 'factors.user_id')
      .select(['factors.label', 'factors.status'])
      .where('users.username', '=', user.username)
      .where('factors.kind', '=', 'passkey')
      .execute();
    expect(passkeys).toEqual([{ label: expect.stringMatching(/\(added automatically\)$/), status: 'active' }]);
    await tab.context.close();
  });

  it('a registration that reaches the server after the upgrade window is refused, and the invitation stands in', async () => {
    const tab = await openTab(env.browser);
    const { page } = tab;
    await wrapCredentialsCreate(tab, { hold: true });
    const user = await signUpWithAuthenticatorApp(page, env.latch);
    await signOut(page);

    await signInWithPasswordAndCode(page, env.latch, user);
    // The client asked (conditional) right after the sign-in; the password manager takes its time.
    await page.waitForFunction(() => (window as unknown as { upgradeProbe: UpgradeProbe }).upgradeProbe.release !== null, undefined, { timeout: 15_000 });
    expect(await mediationsAsked(tab)).toEqual(['conditional']);
    env.latch.clock.advance(5 * 60 + 1);
    const verified = page.waitForResponse((response) => new URL(response.url()).pathname === '/api/factors/passkeys/verify');
    await page.evaluate(() => (window as unknown as { upgradeProbe: UpgradeProbe }).upgradeProbe.release!());
    const refusal = await verified;
    expect(refusal.status()).toBe(403);
    // The fallback proof aged past the window (and past the step-up policy's five minutes with it).
    expect(((await refusal.json()) as { error: { code: string } }).error.code).toMatch(/^(automatic_upgrade_expired|step_up_required)$/);
    await expectView(page, 'invite');
    const passkeys = await env.latch.server.db
      .selectFrom('factors')
      .innerJoin('users', 'users.id', 'factors.user_id')
      .select('factors.id')
      .where('users.username', '=', user.username)
      .where('factors.kind', '=', 'passkey')
      .execute();
    expect(passkeys).toHaveLength(0);
    await tab.context.close();
  });
});
