import { createRoute } from '@hono/zod-openapi';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { finishEnrollmentWithLink, finishFallbackWithLink, startEnrollmentWithLink, startFallbackWithLink } from '../../auth/enroll/link.ts';
import { PasswordSchema } from '../schemas.ts';
import { CodeSchema, EnrollmentSchema } from './totp-shared.ts';
import type { RateLimitRule } from '../../rate-limits/rate-limits.ts';
import { publicUser } from '../../users/users.ts';
import { relyingPartyFrom } from '../../webauthn/relying-party.ts';
import { requesterOf, type AppDeps } from '../context.ts';
import { limitByAddress } from '../middleware/address-rate-limit.ts';
import { createRouter, errorResponses, jsonBody, jsonContent, z } from '../router.ts';
import { setEstablishedSession } from '../session-cookie.ts';
import { LabelSchema } from './factors.ts';
import { CeremonyIdSchema, CeremonyStartSchema, passkeyRateLimits, RegistrationResponseSchema } from './passkeys.ts';
import { UserSchema } from './session.ts';

/** The token of an enrollment link (from the page's URL fragment): 32 random bytes, base64url. */
const TokenSchema = z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, 'must be the token of an enrollment link');

const limits = passkeyRateLimits satisfies Record<string, RateLimitRule>;

/** Registering a passkey through an enrollment link (flow: src/auth/enroll/link.ts); the page is /enroll. */
export function enrollmentLinkRoutes(deps: AppDeps) {
  const router = createRouter();
  const rp = relyingPartyFrom(deps.config);
  router.use('/api/enroll/passkey/options', limitByAddress({ db: deps.db, scope: 'enroll_link_options', rule: limits.options }));
  router.use('/api/enroll/passkey/verify', limitByAddress({ db: deps.db, scope: 'enroll_link_verify', rule: limits.verify }));
  router.use('/api/enroll/fallback/options', limitByAddress({ db: deps.db, scope: 'enroll_link_options', rule: limits.options }));
  router.use('/api/enroll/fallback/verify', limitByAddress({ db: deps.db, scope: 'enroll_link_verify', rule: limits.verify }));

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/enroll/passkey/options',
      tags: ['Enrollment links'],
      summary: "Start registering a passkey with an enrollment link: options for the link's user",
      request: jsonBody(z.object({ token: TokenSchema })),
      responses: {
        200: jsonContent(
          CeremonyStartSchema.extend({ purpose: z.enum(['admin', 'import', 'recovery']), user: z.object({ username: z.string(), displayName: z.string() }) }),
          'Creation options',
        ),
        ...errorResponses,
      },
    }),
    async (c) => c.json(await startEnrollmentWithLink(deps, rp, requesterOf(c), c.req.valid('json')), 200),
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/enroll/passkey/verify',
      tags: ['Enrollment links'],
      summary: 'Finish: the passkey is registered, the link used up (an admin link makes the user an administrator) and the browser signed in',
      request: jsonBody(z.object({ token: TokenSchema, ceremonyId: CeremonyIdSchema, response: RegistrationResponseSchema, label: LabelSchema.optional() })),
      responses: { 201: jsonContent(z.object({ user: UserSchema, purpose: z.enum(['admin', 'import', 'recovery']) }), 'Enrolled and signed in'), 409: jsonContent(z.any(), 'Passkey already registered'), ...errorResponses },
    }),
    async (c) => {
      const { token, ceremonyId, response, label } = c.req.valid('json');
      const { user, purpose, established } = await finishEnrollmentWithLink(deps, rp, requesterOf(c), { token, ceremonyId, response: response as RegistrationResponseJSON, label: label ?? null });
      setEstablishedSession(c, established, c.get('now'));
      return c.json({ user: publicUser(user), purpose }, 201);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/enroll/fallback/options',
      tags: ['Enrollment links', 'Recovery'],
      summary: 'Without WebAuthn: on a recovery or import link, a password (optional on an import link whose account has one) and a new authenticator app secret (pending its first code)',
      request: jsonBody(z.object({ token: TokenSchema, password: PasswordSchema.optional() })),
      responses: { 201: jsonContent(EnrollmentSchema, 'The authenticator to set up'), ...errorResponses },
    }),
    async (c) => c.json(await startFallbackWithLink(deps, requesterOf(c), c.req.valid('json')), 201),
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/enroll/fallback/verify',
      tags: ['Enrollment links', 'Recovery'],
      summary: "The app's first code: a recovery completes (every old factor and session ends); the password, the app and fresh backup codes (shown once) are the account's, and the browser is signed in",
      request: jsonBody(z.object({ token: TokenSchema, ceremonyId: CeremonyIdSchema, code: CodeSchema })),
      responses: { 201: jsonContent(z.object({ user: UserSchema, backupCodes: z.array(z.string()) }), 'Recovered and signed in'), ...errorResponses },
    }),
    async (c) => {
      const { user, established, backupCodes } = await finishFallbackWithLink(deps, requesterOf(c), c.req.valid('json'));
      setEstablishedSession(c, established, c.get('now'));
      c.header('Cache-Control', 'no-store');
      return c.json({ user: publicUser(user), backupCodes }, 201);
    },
  );

  return router;
}
