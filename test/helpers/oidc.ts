import { createPublicKey, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import * as client from 'openid-client';
import { afterAll } from 'vitest';
import { CLI_ACTOR } from '../../src/admin/actor.ts';
import { createClient, type ClientInput } from '../../src/oidc/clients.ts';
import { createTestApp, TEST_ORIGIN, TestClient, type TestApp } from './app.ts';
import { signedUpUser } from './passkeys.ts';

export const ISSUER = `${TEST_ORIGIN}/oidc`;
export const REDIRECT_URI = 'https://app.example.com/callback';

function listening(server: Server | ServerType): Promise<number> {
  return new Promise((resolve) => {
    const address = server.address() as AddressInfo | null;
    if (address) resolve(address.port);
    else server.once('listening', () => resolve((server.address() as AddressInfo).port));
  });
}

/**
 * Latch on a real port (oidc-provider needs Node's request and response). Browsers and the
 * relying party address it by its origin (http://localhost:3000); their requests go to the port
 * with that origin in X-Forwarded-Host/Proto, which the test app trusts, as behind a proxy.
 */
export async function serveLatch(t: TestApp, app: { fetch: TestApp['app']['fetch'] } = t.app) {
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  const port = await listening(server);
  afterAll(() => new Promise<void>((resolve) => (server as Server).close(() => resolve())));
  const base = `http://127.0.0.1:${port}`;
  const forwarded = { 'x-forwarded-host': new URL(TEST_ORIGIN).host, 'x-forwarded-proto': 'http' };
  const toPort = (url: string) => (url.startsWith(TEST_ORIGIN) ? `${base}${url.slice(TEST_ORIGIN.length)}` : url);
  const fetchLatch: client.CustomFetch = (url, options) => fetch(toPort(url), { ...options, headers: { ...options.headers, ...forwarded } } as RequestInit);
  const transport = {
    request: (path: string, init: RequestInit = {}) =>
      fetch(toPort(new URL(path, TEST_ORIGIN).href), { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), ...forwarded } }),
  };
  return {
    port,
    fetchLatch,
    transport,
    /** A browser with its own cookie jar, talking to the real server. */
    browser: () => new TestClient(transport as never, '203.0.113.10'),
    /** The relying party's view of Latch (openid-client, by discovery). */
    async relyingParty(clientId: string, clientSecret: string | null) {
      return client.discovery(new URL(ISSUER), clientId, clientSecret ?? undefined, clientSecret ? client.ClientSecretBasic(clientSecret) : client.None(), {
        execute: [client.allowInsecureRequests],
        [client.customFetch]: fetchLatch,
      });
    },
  };
}

/**
 * What every OpenID Connect test file starts with: a test app whose clock starts at the system's
 * (the provider stamps tokens with the system clock), served on a real port. Call it at the top of
 * the file: `const { t, latch, ... } = await useOidcServer();`.
 */
export async function useOidcServer() {
  const t = await createTestApp();
  t.clock.set(new Date());
  const latch = await serveLatch(t);

  /** Registers an app (confidential unless `public`) and gives the relying party's view of Latch for it. */
  async function registerApp(input: Partial<ClientInput> = {}) {
    const { client: registered, clientSecret } = await registerClient(t, input);
    const config = await latch.relyingParty(registered.clientId, clientSecret);
    return { registered, clientSecret, config };
  }

  return {
    t,
    latch,
    registerApp,
    /** The provider's published signing keys. */
    async jwks() {
      return (await latch.browser().get('/oidc/jwks')).body as { keys: Array<Record<string, any>> };
    },
    /** A new passkey user signed in to a newly registered app through the whole flow; the tokens the app got. */
    async signedInToApp(input: Partial<ClientInput> = {}) {
      const { registered, config } = await registerApp(input);
      const browser = latch.browser();
      const account = await signedUpUser(t, {}, browser);
      const flow = await authorize(config, browser);
      const tokens = await flow.redeem(await flow.callback((await flow.login()).body.location));
      return { config, browser, account, tokens, registered };
    },
  };
}

export type OidcServer = Awaited<ReturnType<typeof useOidcServer>>;

export async function registerClient(t: TestApp, input: Partial<ClientInput> = {}) {
  return t.db.transaction().execute((trx) =>
    createClient(trx, t.keyring, { now: t.clock.now(), clientAddress: null, userAgent: 'test', requestId: null }, CLI_ACTOR, {
      name: 'Test app',
      redirectUris: [REDIRECT_URI],
      firstParty: true,
      ...input,
    }),
  );
}

/**
 * An app's "Sign in with Latch" as a browser runs it: the authorization request (code + PKCE),
 * the provider's redirect to Latch's interaction page, the page's call with the browser's Latch
 * session. `finish()` follows the answer back through the provider to the app's callback and
 * redeems the code with openid-client.
 */
export async function authorize(config: client.Configuration, browser: TestClient, params: Record<string, string> = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...params,
  });
  const started = await browser.get(url.href);
  const interactionUrl = started.headers.get('location');
  if (started.status !== 303 || !interactionUrl) throw new Error(`authorization answered ${started.status}: ${JSON.stringify(started.body)}`);
  const uid = new URL(interactionUrl, TEST_ORIGIN).searchParams.get('uid')!;
  const login = () => browser.post(`/api/oidc/interaction/${uid}/login`);
  return {
    uid,
    verifier,
    state,
    interactionUrl,
    login,
    /** Back through the provider with the interaction's answer: the app's callback URL. */
    async callback(location: string): Promise<URL> {
      const resumed = await browser.get(location);
      const to = resumed.headers.get('location');
      if (!to) throw new Error(`resume answered ${resumed.status}: ${JSON.stringify(resumed.body)}`);
      return new URL(to, TEST_ORIGIN);
    },
    async redeem(callbackUrl: URL) {
      return client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: verifier, expectedState: state });
    },
  };
}

/** Verifies a JWT's signature against a JWKS (node:crypto), returning its header and claims. */
export function verifyJwt(jwt: string, jwks: { keys: Array<Record<string, any>> }) {
  const [headerText, payloadText, signatureText] = jwt.split('.');
  const header = JSON.parse(Buffer.from(headerText!, 'base64url').toString('utf8'));
  const jwk = jwks.keys.find((key) => key.kid === header.kid);
  if (!jwk) throw new Error(`no key ${header.kid} in the JWKS`);
  const key = createPublicKey({ key: jwk as never, format: 'jwk' });
  const data = Buffer.from(`${headerText}.${payloadText}`);
  const signature = Buffer.from(signatureText!, 'base64url');
  const ok =
    header.alg === 'ES256' ? verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature) : header.alg === 'RS256' ? verify('sha256', data, key, signature) : false;
  if (!ok) throw new Error('signature does not verify');
  return { header, claims: JSON.parse(Buffer.from(payloadText!, 'base64url').toString('utf8')) };
}

/** A tiny app endpoint that records back-channel logout requests. */
export async function backchannelReceiver() {
  const received: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.statusCode = 200;
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  const port = await listening(server);
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${port}/backchannel-logout`, received };
}
