import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { signedUpUser } from './helpers/passkeys.ts';
import { signUpWithTotp } from './helpers/fallback.ts';
import { authorize, ISSUER, serveLatch, useOidcServer, verifyJwt } from './helpers/oidc.ts';

const { t, latch, registerApp, jwks } = await useOidcServer();

describe('OpenID Connect: authorization code + PKCE with a Latch sign-in', () => {
  it('discovery names the issuer, ES256, the acr values and S256 PKCE', async () => {
    const response = await latch.browser().get('/oidc/.well-known/openid-configuration');
    expect(response.status).toBe(200);
    expect(response.body.issuer).toBe(ISSUER);
    expect(response.body.id_token_signing_alg_values_supported).toEqual(expect.arrayContaining(['ES256', 'RS256']));
    expect(response.body.acr_values_supported).toContain('urn:latch:acr:phishing-resistant');
    expect(response.body.code_challenge_methods_supported).toEqual(['S256']);
    const keys = await jwks();
    expect(keys.keys.some((key) => key.alg === 'ES256')).toBe(true);
    expect(keys.keys.every((key) => key.d === undefined)).toBe(true);
  });

  it('a public client signs in a passkey user: the ID token verifies against the JWKS and says hwk/user/mfa, phishing-resistant', async () => {
    const { registered, config } = await registerApp({ public: true });
    const browser = latch.browser();
    const { user } = await signedUpUser(t, {}, browser);

    const flow = await authorize(config, browser);
    expect(flow.interactionUrl).toMatch(/^\/oidc-interaction\?uid=/);
    const answer = await flow.login();
    expect(answer.status).toBe(200);
    const callback = await flow.callback(answer.body.location);
    expect(callback.origin + callback.pathname).toBe('https://app.example.com/callback');
    const tokens = await flow.redeem(callback);

    const { header, claims } = verifyJwt(tokens.id_token!, await jwks());
    expect(header.alg).toBe('ES256');
    expect(claims.iss).toBe(ISSUER);
    expect(claims.sub).toBe(user.id);
    expect(claims.aud).toBe(registered.clientId);
    expect(claims.acr).toBe('urn:latch:acr:phishing-resistant');
    expect(claims.amr).toEqual(expect.arrayContaining(['hwk', 'user', 'mfa']));
    expect(typeof claims.auth_time).toBe('number');
    expect(tokens.expires_in).toBeLessThanOrEqual(15 * 60);

    const info = await client.fetchUserInfo(config, tokens.access_token, user.id);
    expect(info.preferred_username).toBe(user.username);
  });

  it('a password + TOTP user gets pwd/otp/mfa and aal2, not phishing-resistant', async () => {
    const { config } = await registerApp();
    const browser = latch.browser();
    await signUpWithTotp(t, browser);

    const flow = await authorize(config, browser);
    const answer = await flow.login();
    const tokens = await flow.redeem(await flow.callback(answer.body.location));
    const { claims } = verifyJwt(tokens.id_token!, await jwks());
    expect(claims.acr).toBe('urn:latch:acr:aal2');
    expect(claims.amr).toEqual(expect.arrayContaining(['pwd', 'otp', 'mfa']));
    expect(claims.amr).not.toContain('hwk');
  });

  it('without a Latch session the interaction answers unauthenticated (the page sends the browser to sign in)', async () => {
    const { config } = await registerApp({ public: true });
    const flow = await authorize(config, latch.browser());
    const answer = await flow.login();
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('unauthenticated');
  });

  it('oidc.interaction-hijack: an interaction started in one browser cannot be finished by another browser signed in to Latch', async () => {
    const { config } = await registerApp({ public: true });
    // The attacker starts "Sign in with Latch" in their own browser (it holds the provider's resume cookie) …
    const attacker = latch.browser();
    const flow = await authorize(config, attacker);
    // … and gets the victim, signed in to Latch, to open the interaction link.
    const victim = latch.browser();
    await signedUpUser(t, {}, victim);
    for (const step of ['login', 'consent']) {
      const answer = await victim.post(`/api/oidc/interaction/${flow.uid}/${step}`, step === 'consent' ? { approve: true } : undefined);
      expect(answer.status, step).toBe(400);
      expect(answer.body.error.code, step).toBe('oidc_interaction_invalid');
    }
    // A binding cookie made up for that id (as a sibling subdomain could plant one) does not do either.
    victim.cookies.set('latch_oidc_interactions', `${flow.uid}.${'A'.repeat(32)}`);
    expect((await victim.post(`/api/oidc/interaction/${flow.uid}/login`)).body.error.code).toBe('oidc_interaction_invalid');
    // Nothing was decided: the attacker's browser cannot resume with a code.
    const resumed = await attacker.get(`/oidc/auth/${flow.uid}`);
    expect(String(resumed.headers.get('location') ?? '')).not.toMatch(/[?&]code=/);
    // The binding does not get in the way of the browser that starts an interaction and finishes
    // it, even with a second one started since (two tabs, two apps).
    await signedUpUser(t, {}, attacker);
    const own = await authorize(config, attacker);
    const second = await authorize(config, attacker);
    // (The test's cookie jar keeps one cookie per name, so only the newest flow's provider resume
    // cookie survives here; a browser keeps both, each on its own path. The binding keeps both.)
    expect((await own.login()).status).toBe(200);
    const answer = await second.login();
    expect(answer.status).toBe(200);
    expect((await second.callback(answer.body.location)).searchParams.get('code')).toBeTruthy();
  });

  it('several instances share one database: an authorization started on one finishes on another, with the same keys', async () => {
    const other = await serveLatch(t, t.anotherInstance());
    const { registered, clientSecret, config } = await registerApp();
    const browser = latch.browser();
    await signedUpUser(t, {}, browser);
    const flow = await authorize(config, browser);
    const answer = await browser.via(other.transport as never).post(`/api/oidc/interaction/${flow.uid}/login`);
    expect(answer.status).toBe(200);
    const resumed = await browser.via(other.transport as never).get(answer.body.location);
    const callback = new URL(resumed.headers.get('location')!);
    const tokens = await client.authorizationCodeGrant(await other.relyingParty(registered.clientId, clientSecret), callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
    expect(verifyJwt(tokens.id_token!, await jwks()).claims.acr).toBe('urn:latch:acr:phishing-resistant');
  });

  it('a public client must use PKCE', async () => {
    const { config } = await registerApp({ public: true });
    const url = client.buildAuthorizationUrl(config, { redirect_uri: 'https://app.example.com/callback', scope: 'openid', state: 'x' });
    const response = await latch.browser().get(url.href);
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('invalid_request');
  });

  it('redirect URIs are matched exactly', async () => {
    const { config } = await registerApp({ public: true });
    const url = client.buildAuthorizationUrl(config, { redirect_uri: 'https://app.example.com/callback/', scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
    const response = await latch.browser().get(url.href);
    expect(response.status).toBe(400);
  });
});
