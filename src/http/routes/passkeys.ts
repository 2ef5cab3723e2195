import { createRoute } from '@hono/zod-openapi';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { addPasskey, startAddingPasskey } from '../../auth/enroll/passkey.ts';
import { signInWithPasskey, startSignInWithPasskey } from '../../auth/sign-in/passkey.ts';
import { signUpWithPasskey, startSignUpWithPasskey } from '../../auth/sign-up/passkey.ts';
import { startStepUpWithPasskey, stepUpWithPasskey } from '../../auth/step-up.ts';
import type { AuthenticatorNames } from '../../factors/aaguid.ts';
import { presentFactors } from '../../factors/present.ts';
import type { RateLimitRule } from '../../rate-limits/rate-limits.ts';
import { publicUser } from '../../users/users.ts';
import { relyingPartyFrom } from '../../webauthn/relying-party.ts';
import { requesterOf, type AppDeps } from '../context.ts';
import { errorResponse } from '../errors.ts';
import { addressLimit, limitByAddress } from '../middleware/address-rate-limit.ts';
import { displayNameSchema, NewUsernameSchema, UsernameSchema } from '../schemas.ts';
import { requireSession } from '../middleware/session.ts';
import { createRouter, errorResponses, jsonBody, jsonContent, z } from '../router.ts';
import { setEstablishedSession } from '../session-cookie.ts';
import { publicSession } from './session-present.ts';
import { FactorSchema, LabelSchema } from './factors.ts';
import { UserSchema } from './session.ts';

/** Per client address. Options are cheap and autofill asks on every page load; verifies are fewer. */
export const passkeyRateLimits = {
  options: { limit: 60, windowSeconds: 60, lockoutSeconds: 60 },
  verify: { limit: 30, windowSeconds: 60, lockoutSeconds: 60 },
} as const satisfies Record<string, RateLimitRule>;

const base64url = z.string().regex(/^[A-Za-z0-9_-]*$/, 'must be base64url');
/** WebAuthn caps credential ids at 1023 bytes: 1364 base64url characters. */
const CredentialIdSchema = base64url.min(1).max(1364);
export const CeremonyIdSchema = z.string().min(1).max(128);

/** The JSON form of a PublicKeyCredential, as @simplewebauthn/browser hands it over; `response` differs per ceremony. */
function credentialSchema<T extends z.ZodRawShape>(response: T) {
  return z
    .object({
      id: CredentialIdSchema,
      rawId: CredentialIdSchema,
      type: z.literal('public-key'),
      response: z.object({ clientDataJSON: base64url.min(1).max(4096), ...response }).passthrough(),
      authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
      clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
    })
    .passthrough();
}

export const RegistrationResponseSchema = credentialSchema({
  attestationObject: base64url.min(1).max(32_768),
  transports: z.array(z.string().max(32)).max(16).optional(),
}).openapi('RegistrationResponse', { description: 'What @simplewebauthn/browser startRegistration() returns' });

const AuthenticationResponseSchema = credentialSchema({
  authenticatorData: base64url.min(1).max(4096),
  signature: base64url.min(1).max(2048),
  userHandle: base64url.max(128).optional(),
}).openapi('AuthenticationResponse', { description: 'What @simplewebauthn/browser startAuthentication() returns' });

export const CeremonyStartSchema = z.object({ ceremonyId: z.string(), options: z.record(z.string(), z.unknown()) }).openapi('PasskeyCeremony');
const RegistrationFinishSchema = z.object({ ceremonyId: CeremonyIdSchema, response: RegistrationResponseSchema, label: LabelSchema.optional() });
const AuthenticationFinishSchema = z.object({ ceremonyId: CeremonyIdSchema, response: AuthenticationResponseSchema });

/** Passkey sign-up, sign-in, step-up and enrollment (flows in src/auth/), and the related-origins document. */
export function passkeyRoutes(deps: AppDeps, authenticatorNames: AuthenticatorNames) {
  const router = createRouter();
  const rp = relyingPartyFrom(deps.config);
  const limit = (scope: string, rule: RateLimitRule) => limitByAddress({ db: deps.db, scope, rule });

  router.use('/api/signup/passkey/options', limit('passkey_signup_options', passkeyRateLimits.options));
  router.use('/api/signup/passkey/verify', limit('passkey_signup_verify', passkeyRateLimits.verify));
  // The sign-in's limits (addressLimit below) are counted inside its ceremony's first statement: the hot path keeps its round trips.
  router.use('/api/step-up/passkey/*', requireSession());
  router.use('/api/factors/passkeys/*', requireSession());

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/signup/passkey/options',
      tags: ['Passkeys'],
      summary: 'Start signing up with a passkey',
      request: jsonBody(z.object({ username: NewUsernameSchema, displayName: displayNameSchema(128).optional() })),
      responses: { 200: jsonContent(CeremonyStartSchema, 'Creation options'), 409: jsonContent(z.any(), 'Username taken'), ...errorResponses },
    }),
    async (c) => {
      const { username, displayName } = c.req.valid('json');
      return c.json(await startSignUpWithPasskey(deps, rp, requesterOf(c), { username, displayName: displayName ?? null }), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/signup/passkey/verify',
      tags: ['Passkeys'],
      summary: 'Finish signing up: creates the user and signs them in',
      request: jsonBody(RegistrationFinishSchema),
      responses: { 201: jsonContent(z.object({ user: UserSchema }), 'Signed up'), 409: jsonContent(z.any(), 'Username or passkey taken'), ...errorResponses },
    }),
    async (c) => {
      const { ceremonyId, response, label } = c.req.valid('json');
      const { user, established } = await signUpWithPasskey(deps, rp, requesterOf(c), { ceremonyId, response: response as RegistrationResponseJSON, label: label ?? null, authenticatorNames });
      setEstablishedSession(c, established, c.get('now'));
      return c.json({ user: publicUser(user) }, 201);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/signin/passkey/options',
      tags: ['Passkeys'],
      summary: 'Start signing in with a passkey (without a username: discoverable credentials, for autofill)',
      request: jsonBody(z.object({ username: UsernameSchema.optional() })),
      responses: { 200: jsonContent(CeremonyStartSchema, 'Request options'), ...errorResponses },
    }),
    async (c) => {
      const { username } = c.req.valid('json');
      const limit = addressLimit(c, 'passkey_signin_options', passkeyRateLimits.options);
      return c.json(await startSignInWithPasskey(deps, rp, requesterOf(c), { username: username ?? null, limit }), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/signin/passkey/verify',
      tags: ['Passkeys'],
      summary: 'Finish signing in with a passkey',
      request: jsonBody(AuthenticationFinishSchema),
      responses: { 200: jsonContent(z.object({ user: UserSchema }), 'Signed in'), ...errorResponses },
    }),
    async (c) => {
      const { ceremonyId, response } = c.req.valid('json');
      const limit = addressLimit(c, 'passkey_signin_verify', passkeyRateLimits.verify);
      const { user, established } = await signInWithPasskey(deps, rp, requesterOf(c), { ceremonyId, response: response as AuthenticationResponseJSON, limit });
      setEstablishedSession(c, established, c.get('now'));
      return c.json({ user: publicUser(user) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/step-up/passkey/options',
      tags: ['Passkeys'],
      summary: "Start confirming it is you with one of your passkeys",
      responses: { 200: jsonContent(CeremonyStartSchema, 'Request options'), ...errorResponses },
    }),
    async (c) => c.json(await startStepUpWithPasskey(deps, rp, requesterOf(c)), 200),
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/step-up/passkey/verify',
      tags: ['Passkeys'],
      summary: 'Finish the step-up: the session token rotates',
      request: jsonBody(AuthenticationFinishSchema),
      responses: { 200: jsonContent(z.object({ session: z.record(z.string(), z.unknown()) }), 'Stepped up'), ...errorResponses },
    }),
    async (c) => {
      const { ceremonyId, response } = c.req.valid('json');
      const stepped = await stepUpWithPasskey(deps, rp, requesterOf(c), { ceremonyId, response: response as AuthenticationResponseJSON });
      setEstablishedSession(c, stepped, c.get('now'));
      return c.json({ session: publicSession(stepped.session) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/factors/passkeys/options',
      tags: ['Passkeys'],
      summary: 'Start adding a passkey (step-up policy applies). automatic: a conditional create right after a password + TOTP sign-in',
      request: { body: { content: { 'application/json': { schema: z.object({ automatic: z.boolean().optional() }) } }, required: false } },
      responses: { 200: jsonContent(CeremonyStartSchema, 'Creation options'), ...errorResponses },
    }),
    async (c) => {
      const body = (c.req.valid('json') as { automatic?: boolean } | undefined) ?? {};
      return c.json(await startAddingPasskey(deps, rp, requesterOf(c), { automatic: body.automatic ?? false }), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/factors/passkeys/verify',
      tags: ['Passkeys'],
      summary: 'Finish adding a passkey',
      request: jsonBody(RegistrationFinishSchema),
      responses: { 201: jsonContent(z.object({ factor: FactorSchema }), 'Added'), 409: jsonContent(z.any(), 'Passkey already registered'), ...errorResponses },
    }),
    async (c) => {
      const { ceremonyId, response, label } = c.req.valid('json');
      const { factor, established } = await addPasskey(deps, rp, requesterOf(c), { ceremonyId, response: response as RegistrationResponseJSON, label: label ?? null, authenticatorNames });
      // A restricted session was lifted by this passkey: its token rotated.
      if (established) setEstablishedSession(c, established, c.get('now'));
      const [presented] = await presentFactors(deps.db, [factor], authenticatorNames);
      return c.json({ factor: presented! }, 201);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/.well-known/webauthn',
      tags: ['Passkeys'],
      summary: 'Related origins: the other origins that may use this RP ID (only when more than one origin is configured)',
      responses: { 200: jsonContent(z.object({ origins: z.array(z.string()) }), 'Related origins'), 404: jsonContent(z.any(), 'No related origins') },
    }),
    (c) => {
      if (rp.origins.length < 2) return errorResponse(c, 'not_found') as never;
      c.header('Cache-Control', 'public, max-age=3600');
      return c.json({ origins: rp.origins }, 200);
    },
  );

  return router;
}
