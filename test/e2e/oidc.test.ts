import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import { afterAll, expect, it } from 'vitest';
import { CLI_ACTOR } from '../../src/admin/actor.ts';
import { generateKeyring } from '../../src/crypto/keyring.ts';
import { createClient } from '../../src/oidc/clients.ts';
import { describeInBrowser, expectPath, openTab, readyForButton, screenshot, signOut, signUpWithPasskey, useServerAndBrowser } from './helpers.ts';

/**
 * A tiny app that signs its users in with Latch (openid-client, authorization code + PKCE): a
 * "Sign in with Latch" link, and a callback that redeems the code and greets the user.
 */
async function startApp(issuer: string, register: (redirectUri: string) => Promise<string>) {
  let config: client.Configuration | null = null;
  const pending = new Map<string, string>();
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url!, `http://localhost:${(server.address() as AddressInfo).port}`);
    res.setHeader('content-type', 'text/html; charset=utf-8');
    if (url.pathname === '/') {
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      pending.set(state, verifier);
      const authorize = client.buildAuthorizationUrl(config!, {
        redirect_uri: `${url.origin}/callback`,
        scope: 'openid profile',
        state,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      res.end(`<!doctype html><title>Notes</title><h1>Notes</h1><a href="${authorize.href.replace(/&/g, '&amp;')}">Sign in with Latch</a>`);
      return;
    }
    if (url.pathname === '/callback') {
      try {
        const state = url.searchParams.get('state') ?? '';
        const tokens = await client.authorizationCodeGrant(config!, url, { pkceCodeVerifier: pending.get(state)!, expectedState: state });
        const claims = tokens.claims()!;
        const profile = await client.fetchUserInfo(config!, tokens.access_token, claims.sub);
        res.end(`<!doctype html><title>Notes</title><h1 id="greeting">Signed in as ${String(profile.preferred_username)}</h1><p id="acr">${String(claims.acr)}</p>`);
      } catch (error) {
        res.statusCode = 500;
        res.end(`<p id="error">${(error as Error).message}</p>`);
      }
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  const clientId = await register(`${origin}/callback`);
  config = await client.discovery(new URL(issuer), clientId, undefined, client.None(), { execute: [client.allowInsecureRequests] });
  return { origin, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describeInBrowser('Sign in with Latch (OpenID Connect)', () => {
  const env = useServerAndBrowser();
  let closeApp: (() => Promise<void>) | null = null;
  afterAll(async () => closeApp?.());

  it("an app's 'Sign in with Latch' → passkey → back in the app, signed in, phishing-resistant", async () => {
    const app = await startApp(`${env.latch.url}/oidc`, async (redirectUri) => {
      const { client: registered } = await env.latch.server.db.transaction().execute((trx) =>
        createClient(trx, generateKeyring(), { now: new Date(), clientAddress: null, userAgent: 'e2e', requestId: null }, CLI_ACTOR, {
          name: 'Notes',
          redirectUris: [redirectUri],
          public: true,
          firstParty: true,
        }),
      );
      return registered.clientId;
    });
    closeApp = app.close;

    const tab = await openTab(env.browser);
    const { page } = tab;
    const username = await signUpWithPasskey(page, env.latch);
    await tab.setPresence(false);
    await signOut(page);

    await page.goto(app.origin);
    await page.getByRole('link', { name: 'Sign in with Latch' }).click();
    await expectPath(page, '/signin');
    await readyForButton(tab);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForURL(`${app.origin}/callback**`);
    await expect.poll(() => page.locator('#greeting').textContent()).toBe(`Signed in as ${username}`);
    expect(await page.locator('#acr').textContent()).toBe('urn:latch:acr:phishing-resistant');
    await screenshot(page, 'oidc-back-in-app');
    await tab.context.close();
  });
});
