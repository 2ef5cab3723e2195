import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sessionLifetimes } from '../auth/requester.ts';
import { signOut } from '../auth/manage/sessions.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { sessionCookieSettings } from '../http/session-cookie.ts';
import { lookUpSession } from '../sessions/sessions.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { ACR_VALUES } from '../policy/assurance.ts';
import { createAdapterClass } from './adapter.ts';
import { INTERACTION_COOKIE, withInteraction } from './interaction.ts';
import { clientSecretMatches, OIDC_SCOPES } from './clients.ts';
import { ensureSigningKeys, loadSigningKeys, signingKeysVersion } from './keys.ts';

/**
 * The OpenID Connect provider: oidc-provider (OpenID Certified) configured for Latch. It owns the
 * protocol (discovery, JWKS, authorization, token, userinfo, revocation, end-session); Latch owns
 * who the user is and how well they proved it: every authorization goes through an interaction
 * that Latch's browser client finishes (src/oidc/interaction.ts), so Latch's session and policy
 * engine decide, never a session of the provider's own.
 */

export const OIDC_PATH = '/oidc';
export const ACCESS_TOKEN_SECONDS = 15 * 60;
export const ID_TOKEN_SECONDS = 60 * 60;
const INTERACTION_SECONDS = 60 * 60;

export interface OidcDeps {
  db: Db;
  keyring: Keyring;
  config: Config;
  logger: Logger;
  clock?: Clock;
}

/** The provider, rebuilt when the signing keys change (`latch oidc rotate-keys`, on any instance). */
export interface Oidc {
  provider(): Promise<any>;
  /** oidc-provider's Node handler for a request under /oidc. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

type OidcProviderModule = typeof import('oidc-provider');
let oidcProviderModule: Promise<OidcProviderModule> | null = null;

/**
 * oidc-provider, with Koa and jose under it, takes about 40 MB of a process's memory once loaded:
 * it is loaded with the first OpenID Connect request, so an instance that never serves one (or
 * has not yet) does not carry it.
 */
function loadOidcProvider(): Promise<OidcProviderModule> {
  return (oidcProviderModule ??= import('oidc-provider'));
}

export function createOidc(deps: OidcDeps): Oidc {
  let current: { version: string; provider: any } | null = null;
  let keysEnsured = false;

  async function provider(): Promise<any> {
    const now = new Date();
    if (!keysEnsured) {
      await ensureSigningKeys(deps.db, deps.keyring, now);
      keysEnsured = true;
    }
    // One small query per request: another instance or the CLI may have rotated the keys.
    const version = await signingKeysVersion(deps.db, now);
    if (current?.version === version) return current.provider;
    const keys = await loadSigningKeys(deps.db, deps.keyring, now);
    current = { version, provider: buildProvider(await loadOidcProvider(), deps, keys) };
    return current.provider;
  }

  return {
    provider,
    async handle(req, res) {
      const instance = await provider();
      // Mounted under /oidc: the provider sees its own paths and finds the mount in originalUrl.
      const request = req as IncomingMessage & { originalUrl?: string };
      request.originalUrl = req.url;
      req.url = req.url!.slice(OIDC_PATH.length) || '/';
      await instance.callback()(req, res);
    },
  };
}

/** Cookie signing keys for the provider's own cookies, derived from the keyring: nothing hard-coded, the same on every instance. */
function cookieKeys(keyring: Keyring): string[] {
  return [createHmac('sha256', keyring.hmacKey).update('oidc-provider-cookies').digest('base64url')];
}

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title} · Latch</title><link rel="stylesheet" href="/styles.css"></head><body class="auth-page"><main class="card">${body}</main></body></html>`;

async function logoutSource(ctx: any, form: string) {
  ctx.type = 'html';
  ctx.body = page(
    'Sign out',
    `<h1>Sign out of Latch?</h1><p>The app asked to sign you out. Signing out ends your Latch session here and the apps you signed in to with it.</p>${form}<p><button autofocus type="submit" form="op.logoutForm" value="yes" name="logout" class="button button-primary">Sign out</button> <button type="submit" form="op.logoutForm" class="button">Stay signed in</button></p>`,
  );
}

async function postLogoutSuccessSource(ctx: any) {
  ctx.type = 'html';
  ctx.body = page('Signed out', '<h1>You are signed out</h1><p>You can close this page.</p>');
}

function buildProvider({ default: Provider, interactionPolicy, errors }: OidcProviderModule, deps: OidcDeps, keys: Array<Record<string, unknown>>) {
  const refreshSeconds = deps.config.oidc.refreshTokenDays * 24 * 60 * 60;
  const policy = interactionPolicy.base();
  // Every authorization is decided by Latch: the browser goes to Latch's page, which checks the
  // Latch session and the policy engine, then finishes the interaction. So `prompt=none` gets
  // `login_required` (no silent sign-in through the provider's own session).
  policy.get('login').checks.push(
    new interactionPolicy.Check('latch_session', 'Latch confirms the sign-in', 'login_required', (ctx: any) =>
      ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT,
    ),
  );

  const provider = new Provider(deps.config.oidc.issuer, {
    adapter: createAdapterClass(deps.db, errors),
    clients: [],
    jwks: { keys },
    cookies: {
      keys: cookieKeys(deps.keyring),
      names: { session: 'latch_oidc_session', interaction: 'latch_oidc_interaction', resume: 'latch_oidc_resume' },
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    async findAccount(_ctx: unknown, sub: string) {
      if (!/^[0-9a-f-]{36}$/i.test(sub)) return undefined;
      const user = await deps.db.selectFrom('users').selectAll().where('id', '=', sub).executeTakeFirst();
      if (!user || user.status !== 'active') return undefined;
      return {
        accountId: user.id,
        async claims() {
          return {
            sub: user.id,
            preferred_username: user.username,
            name: user.display_name,
            // Only a confirmed address is something an app may trust.
            ...(user.email && user.email_verified_at ? { email: user.email, email_verified: true } : {}),
          };
        },
      };
    },
    // acr, amr and auth_time ride on the openid scope, so every ID token says how the user proved it.
    claims: { sid: null, iss: null, openid: ['sub', 'acr', 'amr', 'auth_time'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'] },
    scopes: [...OIDC_SCOPES],
    acrValues: [...ACR_VALUES],
    clientDefaults: { grant_types: ['authorization_code'], response_types: ['code'], id_token_signed_response_alg: 'ES256', token_endpoint_auth_method: 'client_secret_basic' },
    // Secrets are stored as keyed hashes (src/oidc/clients.ts): no method that needs the secret itself.
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    enabledJWA: {
      idTokenSigningAlgValues: ['ES256', 'RS256'],
      userinfoSigningAlgValues: ['ES256', 'RS256'],
      introspectionSigningAlgValues: ['ES256', 'RS256'],
      authorizationSigningAlgValues: ['ES256', 'RS256'],
    },
    responseTypes: ['code'],
    pkce: { required: (_ctx: unknown, client: any) => client.tokenEndpointAuthMethod === 'none', methods: ['S256'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      userinfo: { enabled: true },
    },
    // Each use of a refresh token gives a new one; presenting a used one again revokes the whole
    // grant (oidc-provider's refresh_token grant: `consumed` → revoke(grantId)).
    rotateRefreshToken: true,
    // A client allowed the refresh_token grant gets one with the code (no offline_access + prompt=consent dance).
    issueRefreshToken: async (_ctx: unknown, client: any) => client.grantTypeAllowed('refresh_token'),
    ttl: {
      AccessToken: ACCESS_TOKEN_SECONDS,
      ClientCredentials: ACCESS_TOKEN_SECONDS,
      AuthorizationCode: 60,
      IdToken: ID_TOKEN_SECONDS,
      RefreshToken: refreshSeconds,
      Grant: refreshSeconds,
      Interaction: INTERACTION_SECONDS,
      Session: refreshSeconds,
    },
    interactions: {
      policy,
      url: (ctx: any, interaction: { uid: string }) => {
        // This browser may finish this interaction, and no other (src/oidc/interaction.ts).
        const value = withInteraction(deps.keyring, ctx.cookies.get(INTERACTION_COOKIE, { signed: false }), interaction.uid);
        const secure = deps.config.origins[0]!.startsWith('https:') ? '; Secure' : '';
        ctx.append('Set-Cookie', `${INTERACTION_COOKIE}=${value}; Path=/; Max-Age=${INTERACTION_SECONDS}; HttpOnly; SameSite=Lax${secure}`);
        return `/oidc-interaction?uid=${encodeURIComponent(interaction.uid)}`;
      },
    },
    renderError: async (ctx: any, out: Record<string, string>) => {
      ctx.type = 'html';
      const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in error · Latch</title><link rel="stylesheet" href="/styles.css"></head><body class="auth-page"><main class="card"><h1>This sign-in request did not work</h1><p>${escape(out.error ?? 'error')}: ${escape(out.error_description ?? '')}</p><p>Go back to the app and try again.</p></main></body></html>`;
    },
  });
  provider.proxy = deps.config.trustProxy;
  // Client secrets are compared as keyed hashes: the stored `client_secret` is the hash.
  provider.Client.prototype.compareClientSecret = async function compareClientSecret(this: { clientSecret?: string }, actual: string) {
    return clientSecretMatches(deps.keyring, this.clientSecret, actual);
  };
  // Its responses bypass Hono's middleware, so the same strict headers are set here: no framing
  // (the logout confirmation must not be clickjacked), no sniffing, HTTPS only, no referrer.
  provider.use(async (ctx: any, next: () => Promise<void>) => {
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    ctx.set('Referrer-Policy', 'no-referrer');
    await next();
    const csp = ctx.response.get('Content-Security-Policy');
    ctx.set('Content-Security-Policy', csp ? `${csp}; frame-ancestors 'none'` : "frame-ancestors 'none'");
  });
  // RP-initiated logout: when the user confirms "sign out", their Latch session ends too, the way
  // signing out on Latch does (the same flow); the apps they signed in to hear of it through the
  // back-channel sweep (src/oidc/logout.ts).
  provider.use(async (ctx: any, next: () => Promise<void>) => {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== '/session/end/confirm' || !ctx.oidc?.params?.logout) return;
    const token = ctx.cookies.get(sessionCookieSettings(deps.config).name, { signed: false });
    if (!token) return;
    const now = (deps.clock ?? systemClock).now();
    const current = await lookUpSession(deps.db, deps.keyring, token, sessionLifetimes(deps.config), now);
    if (!current) return;
    await signOut(deps, { now, clientAddress: ctx.ip ?? null, userAgent: ctx.get('user-agent')?.slice(0, 512) || null, requestId: null, current });
  });
  provider.on('server_error', (_ctx: unknown, error: Error) => deps.logger.error('oidc provider error', { errorName: error.name, message: error.message }));
  return provider;
}
