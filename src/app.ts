import { OpenAPIHono } from '@hono/zod-openapi';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { fileURLToPath } from 'node:url';
import { LatchError } from './errors.ts';
import { loadAuthenticatorNames } from './factors/aaguid.ts';
import type { AppDeps, AppEnv } from './http/context.ts';
import { createErrorHandler, errorResponse } from './http/errors.ts';
import { sameOriginJson } from './http/middleware/csrf.ts';
import { requestContext } from './http/middleware/request-context.ts';
import { pageContentSecurityPolicy, securityHeaders } from './http/middleware/security-headers.ts';
import { clientFileRoutes } from './http/static-files.ts';
import { loadSession } from './http/middleware/session.ts';
import { sessionCookieSettings } from './http/session-cookie.ts';
import { sessionLifetimes } from './auth/requester.ts';
import { adminRoutes } from './http/routes/admin.ts';
import { adminAdoptionRoutes } from './http/routes/admin-adoption.ts';
import { auditRoutes } from './http/routes/audit.ts';
import { factorRoutes } from './http/routes/factors.ts';
import { fallbackFactorRoutes } from './http/routes/fallback-factors.ts';
import { passwordSigninRoutes } from './http/routes/password-signin.ts';
import { rememberedDeviceRoutes } from './http/routes/remembered-devices.ts';
import { emailRoutes } from './http/routes/email.ts';
import { developmentMailRoutes } from './http/routes/development-mail.ts';
import { totpSignupRoutes } from './http/routes/totp-signup.ts';
import { mountApiDocs } from './http/routes/docs.ts';
import { forwardAuthRoutes } from './http/routes/forward-auth.ts';
import { enrollmentLinkRoutes } from './http/routes/enroll.ts';
import { recoveryRoutes } from './http/routes/recovery.ts';
import { healthRoutes } from './http/routes/health.ts';
import { passkeyFlagRoutes } from './http/routes/passkey-flags.ts';
import { passkeyRoutes } from './http/routes/passkeys.ts';
import { sessionRoutes } from './http/routes/session.ts';
import { metricsRoutes } from './http/routes/metrics.ts';
import { oidcProviderHandler, oidcRoutes } from './http/routes/oidc.ts';
import { createOidc, OIDC_PATH } from './oidc/provider.ts';
import { poolOf } from './db/database.ts';
import { createMetrics } from './metrics/metrics.ts';
import { createDeferredWork } from './deferred-work.ts';

export type { AppDeps } from './http/context.ts';

const MAX_BODY_BYTES = 64 * 1024;
const publicDir = fileURLToPath(new URL('../public', import.meta.url));
/** The browser client's pages (public/*.html) by the paths people use. */
const clientPages: Record<string, string> = {
  '/signin': 'index.html',
  '/signup': 'signup.html',
  '/account': 'account.html',
  '/continue': 'continue.html',
  '/enroll': 'enroll.html',
  '/admin': 'admin.html',
  '/oidc-interaction': 'oidc-interaction.html',
};

/** The whole HTTP app as a pure function of its dependencies; tests drive it with `app.request()`. */
export function createApp(deps: AppDeps) {
  // Read once (a malformed LATCH_AAGUID_FILE stops the start here); the factor list and the passkey routes share it.
  const authenticatorNames = loadAuthenticatorNames(deps.config.aaguidFile);
  const metrics = deps.metrics ?? (deps.config.metrics ? createMetrics({ pool: poolOf(deps.db) }) : null);
  const app = new OpenAPIHono<AppEnv>();
  app.onError(createErrorHandler(deps.logger));
  app.notFound((c) => errorResponse(c, 'not_found'));

  // On everything, whoever answers: nosniff, HSTS, no framing; a request id, a time, an address.
  app.use('*', securityHeaders());
  app.use(
    '*',
    requestContext({
      clock: deps.clock,
      logger: deps.logger,
      trustProxy: deps.config.trustProxy,
      ...(metrics ? { onRequestEnd: (request) => metrics.observeRequest(request) } : {}),
    }),
  );
  // Scoped to what they protect, so other entry points (an OpenID Connect provider's form posts,
  // a forward-auth endpoint) can live under their own paths without exceptions carved in here.
  // The pages' CSP: the API, the operations and docs endpoints here, the pages below.
  for (const path of ['/api/*', '/healthz', '/readyz', '/metrics', '/openapi.json', '/api-docs']) app.use(path, pageContentSecurityPolicy());
  const limitBody = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => { throw new LatchError('payload_too_large'); } });
  // A GET or HEAD never has a body here (@hono/node-server gives them none), and asking whether it
  // has one builds the full Request (headers, AbortController): skip what could only call next().
  app.use('/api/*', (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limitBody(c, next)));
  app.use('/api/*', sameOriginJson({ origins: deps.config.origins }));
  app.use('/api/*', loadSession({ db: deps.db, keyring: deps.keyring, lifetimes: sessionLifetimes(deps.config), cookie: sessionCookieSettings(deps.config) }));

  app.route('/', healthRoutes(deps));
  app.route('/', metricsRoutes(metrics, deps.config.metrics?.token ?? null));
  app.route('/', sessionRoutes(deps));
  app.route('/', auditRoutes(deps));
  app.route('/', factorRoutes(deps, authenticatorNames));
  app.route('/', passkeyRoutes(deps, authenticatorNames));
  app.route('/', passkeyFlagRoutes(deps, authenticatorNames));
  app.route('/', totpSignupRoutes(deps));
  app.route('/', passwordSigninRoutes(deps));
  app.route('/', fallbackFactorRoutes(deps));
  app.route('/', rememberedDeviceRoutes(deps));
  app.route('/', forwardAuthRoutes(deps));
  app.route('/', emailRoutes(deps));
  app.route('/', developmentMailRoutes(deps));
  app.route('/', adminRoutes(deps, authenticatorNames));
  app.route('/', adminAdoptionRoutes(deps));
  app.route('/', enrollmentLinkRoutes(deps));
  app.route('/', recoveryRoutes({ ...deps, deferred: deps.deferred ?? createDeferredWork(deps.logger) }));
  // The OpenID Connect provider: its protocol endpoints under /oidc (its own Node handler, outside
  // the /api gate), its interaction API beside the other routes.
  const oidc = deps.oidc ?? createOidc(deps);
  app.route('/', oidcRoutes(deps, oidc));
  app.all(OIDC_PATH, oidcProviderHandler(oidc));
  app.all(`${OIDC_PATH}/*`, oidcProviderHandler(oidc));
  mountApiDocs(app);

  app.all('/api/*', (c) => errorResponse(c, 'not_found'));
  // Last: the pages answer any GET no route above did (the client's fallback), so whatever
  // is mounted later goes above them.
  app.route('/', clientPageRoutes(deps.config.production));
  return app;
}

export type App = ReturnType<typeof createApp>;

/** The browser client (src/http/static-files.ts): its pages by their clean paths, its files, all under the pages' CSP. */
function clientPageRoutes(production: boolean) {
  const pages = new Hono<AppEnv>();
  pages.use('*', pageContentSecurityPolicy());
  pages.route('/', clientFileRoutes({ publicDir, pages: { '/': 'index.html', ...clientPages }, production }));
  return pages;
}
