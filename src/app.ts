import { OpenAPIHono } from '@hono/zod-openapi';
import { serveStatic } from '@hono/node-server/serve-static';
import { bodyLimit } from 'hono/body-limit';
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';
import { LatchError } from './errors.ts';
import { loadAuthenticatorNames } from './factors/aaguid.ts';
import type { AppDeps, AppEnv } from './http/context.ts';
import { createErrorHandler, errorResponse } from './http/errors.ts';
import { sameOriginJson } from './http/middleware/csrf.ts';
import { requestContext } from './http/middleware/request-context.ts';
import { securityHeaders } from './http/middleware/security-headers.ts';
import { loadSession } from './http/middleware/session.ts';
import { sessionLifetimes } from './http/auth-session.ts';
import { auditRoutes } from './http/routes/audit.ts';
import { factorRoutes } from './http/routes/factors.ts';
import { fallbackFactorRoutes } from './http/routes/fallback-factors.ts';
import { passwordSigninRoutes } from './http/routes/password-signin.ts';
import { rememberedDeviceRoutes } from './http/routes/remembered-devices.ts';
import { totpSignupRoutes } from './http/routes/totp-signup.ts';
import { mountApiDocs } from './http/routes/docs.ts';
import { healthRoutes } from './http/routes/health.ts';
import { passkeyFlagRoutes } from './http/routes/passkey-flags.ts';
import { passkeyRoutes } from './http/routes/passkeys.ts';
import { sessionRoutes } from './http/routes/session.ts';

export type { AppDeps } from './http/context.ts';

const MAX_BODY_BYTES = 64 * 1024;
const publicDir = fileURLToPath(new URL('../public', import.meta.url));
/** The browser client's pages (public/*.html) by the paths people use. */
const clientPages: Record<string, string> = {
  '/signin': 'index.html',
  '/signup': 'signup.html',
  '/account': 'account.html',
};

/** The whole HTTP app as a pure function of its dependencies; tests drive it with `app.request()`. */
export function createApp(deps: AppDeps) {
  // Read once (a malformed LATCH_AAGUID_FILE stops the start here); the factor list and the passkey routes share it.
  const authenticatorNames = loadAuthenticatorNames(deps.config.aaguidFile);
  const app = new OpenAPIHono<AppEnv>();
  app.onError(createErrorHandler(deps.logger));
  app.notFound((c) => errorResponse(c, 'not_found'));

  app.use('*', securityHeaders());
  app.use('*', requestContext({ clock: deps.clock, logger: deps.logger, trustProxy: deps.config.trustProxy }));
  app.use('/api/*', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => { throw new LatchError('payload_too_large'); } }));
  app.use('*', sameOriginJson({ origins: deps.config.origins }));
  app.use('/api/*', loadSession({ db: deps.db, keyring: deps.keyring, lifetimes: sessionLifetimes(deps) }));

  app.route('/', healthRoutes(deps));
  app.route('/', sessionRoutes(deps));
  app.route('/', auditRoutes(deps));
  app.route('/', factorRoutes(deps, authenticatorNames));
  app.route('/', passkeyRoutes(deps, authenticatorNames));
  app.route('/', passkeyFlagRoutes(deps, authenticatorNames));
  app.route('/', totpSignupRoutes(deps));
  app.route('/', passwordSigninRoutes(deps));
  app.route('/', fallbackFactorRoutes(deps));
  app.route('/', rememberedDeviceRoutes(deps));
  mountApiDocs(app);

  app.all('/api/*', (c) => errorResponse(c, 'not_found'));
  // serveStatic resolves its root against the working directory.
  const root = relative(process.cwd(), publicDir) || '.';
  // The client's pages by their clean paths; everything else under public/ as files.
  for (const [path, file] of Object.entries(clientPages)) app.get(path, serveStatic({ root, path: file }));
  app.use('/*', serveStatic({ root }));
  app.get('/*', serveStatic({ root, path: 'index.html' }));
  return app;
}

export type App = ReturnType<typeof createApp>;
