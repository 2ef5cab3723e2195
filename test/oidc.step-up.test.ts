import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { ACR } from '../src/policy/assurance.ts';
import { interactionRequirement } from '../src/oidc/interaction.ts';
import { signInWithTotp, signUpWithTotp } from './helpers/fallback.ts';
import { addPasskey, signedUpUser, stepUpWithPasskey } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';
import { authorize, useOidcServer, verifyJwt } from './helpers/oidc.ts';

const PHISHING_RESISTANT = 'urn:latch:acr:phishing-resistant';

const { t, latch, registerApp, jwks } = await useOidcServer();
const { config } = await registerApp();

describe('OpenID Connect: what an app demands goes through the policy engine', () => {
  async function idTokenClaims(tokens: { id_token?: string }) {
    return verifyJwt(tokens.id_token!, await jwks()).claims;
  }

  it('acr_values phishing-resistant: a password + TOTP session is sent to a passkey step-up, then the ID token says phishing-resistant', async () => {
    // A TOTP account that also has a passkey (added in another session, so it may step this one up).
    const setup = latch.browser();
    const user = await signUpWithTotp(t, setup);
    const authenticator = new SoftAuthenticator();
    expect((await addPasskey(setup, authenticator)).response.status).toBe(201);

    const browser = latch.browser();
    expect((await signInWithTotp(t, browser, user)).status).toBe(200);
    const flow = await authorize(config, browser, { acr_values: PHISHING_RESISTANT });
    const refused = await flow.login();
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('step_up_required');
    expect(refused.body.error.methods).toEqual(['passkey']);

    expect((await stepUpWithPasskey(browser, authenticator)).response.status).toBe(200);
    const answer = await flow.login();
    expect(answer.status).toBe(200);
    const claims = await idTokenClaims(await flow.redeem(await flow.callback(answer.body.location)));
    expect(claims.acr).toBe(PHISHING_RESISTANT);
    expect(claims.amr).toEqual(expect.arrayContaining(['hwk', 'otp', 'pwd', 'mfa']));
  });

  it('acr_values phishing-resistant for an account without a passkey: the app gets unmet_authentication_requirements', async () => {
    const browser = latch.browser();
    await signUpWithTotp(t, browser);
    const flow = await authorize(config, browser, { acr_values: PHISHING_RESISTANT });
    const answer = await flow.login();
    expect(answer.status).toBe(200);
    const callback = await flow.callback(answer.body.location);
    expect(callback.searchParams.get('error')).toBe('unmet_authentication_requirements');
  });

  it('prompt=login: a sign-in from before the request is not enough; a passkey proof after it is', async () => {
    const browser = latch.browser();
    t.clock.set(new Date(Date.now() - 120_000));
    const { authenticator } = await signedUpUser(t, {}, browser);
    t.clock.set(new Date());
    const flow = await authorize(config, browser, { prompt: 'login' });
    const refused = await flow.login();
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('step_up_required');
    t.clock.set(new Date(Date.now() + 1000));
    expect((await stepUpWithPasskey(browser, authenticator)).response.status).toBe(200);
    const answer = await flow.login();
    expect(answer.status).toBe(200);
    const claims = await idTokenClaims(await flow.redeem(await flow.callback(answer.body.location)));
    expect(claims.auth_time).toBe(Math.floor(t.clock.now().getTime() / 1000));
  });

  it('max_age: a sign-in older than the app allows asks for a step-up (passkey or code), then auth_time is fresh', async () => {
    const browser = latch.browser();
    t.clock.set(new Date(Date.now() - 10 * 60_000));
    const { authenticator } = await signedUpUser(t, {}, browser);
    t.clock.set(new Date());
    const flow = await authorize(config, browser, { max_age: '60' });
    const refused = await flow.login();
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'step_up_required', maxAgeSeconds: 60 });
    expect((await stepUpWithPasskey(browser, authenticator)).response.status).toBe(200);
    const answer = await flow.login();
    const callback = await flow.callback(answer.body.location);
    // openid-client checks auth_time against max_age itself.
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, maxAge: 60 });
    expect((await idTokenClaims(tokens)).auth_time).toBeGreaterThan(Math.floor(Date.now() / 1000) - 60);
  });

  it('prompt=none gets login_required: every sign-in is decided by Latch, not by a provider session', async () => {
    const browser = latch.browser();
    await signedUpUser(t, {}, browser);
    const first = await authorize(config, browser);
    await first.callback((await first.login()).body.location);
    const url = new URL(first.interactionUrl, 'http://localhost:3000');
    expect(url.pathname).toBe('/oidc-interaction');
    const { buildAuthorizationUrl } = await import('openid-client');
    const silent = buildAuthorizationUrl(config, { redirect_uri: 'https://app.example.com/callback', scope: 'openid', prompt: 'none', state: 's' });
    const response = await browser.get(silent.href);
    expect(new URL(response.headers.get('location')!).searchParams.get('error')).toBe('login_required');
  });

  it('a third-party app shows the consent screen; allowing goes on, refusing gives access_denied', async () => {
    const { config: thirdParty } = await registerApp({ firstParty: false, name: 'Third party' });
    const browser = latch.browser();
    await signedUpUser(t, {}, browser);

    const flow = await authorize(thirdParty, browser, { scope: 'openid profile' });
    const asked = await flow.login();
    expect(asked.status).toBe(200);
    expect(asked.body.consent).toEqual({ client: { name: 'Third party' }, scopes: ['openid', 'profile'] });
    const allowed = await browser.post(`/api/oidc/interaction/${flow.uid}/consent`, { approve: true });
    expect(allowed.status).toBe(200);
    const tokens = await flow.redeem(await flow.callback(allowed.body.location));
    expect(tokens.id_token).toBeTruthy();

    const refused = await authorize(thirdParty, browser);
    const answer = await browser.post(`/api/oidc/interaction/${refused.uid}/consent`, { approve: false });
    expect((await refused.callback(answer.body.location)).searchParams.get('error')).toBe('access_denied');
  });
});

describe('interactionRequirement: what an app asks, as a policy requirement (no HTTP)', () => {
  const started = new Date('2026-11-27T10:00:00Z');
  const now = new Date('2026-11-27T10:00:30Z');
  it('nothing asked: any live session will do', () => {
    expect(interactionRequirement({}, started, now)).toEqual({ requirement: null, acrDemanded: false });
  });
  it('phishing-resistant: a passkey with user verification, AAL2', () => {
    expect(interactionRequirement({ acr_values: `${ACR.phishingResistant} ${ACR.aal2}` }, started, now).requirement).toMatchObject({ methods: ['passkey'], phishingResistant: true, minAal: 2 });
  });
  it('aal2: two factors, either step-up', () => {
    expect(interactionRequirement({ acr_values: ACR.aal2 }, started, now).requirement).toMatchObject({ methods: ['passkey', 'totp'], phishingResistant: false, minAal: 2 });
  });
  it('max_age and prompt=login: the stricter freshness wins (prompt=login: proven since the request began)', () => {
    expect(interactionRequirement({ max_age: '600' }, started, now).requirement).toMatchObject({ maxAgeSeconds: 600, minAal: 1 });
    expect(interactionRequirement({ max_age: '600', prompt: 'login consent' }, started, now).requirement).toMatchObject({ maxAgeSeconds: 30 });
  });
});
