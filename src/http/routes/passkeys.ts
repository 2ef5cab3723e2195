import { createRoute } from '@hono/zod-openapi';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { AuthenticatorNames } from '../../factors/aaguid.ts';
import { presentFactors } from '../../factors/present.ts';
import { requireAllowed } from '../../policy/enforce.ts';
import type { RateLimitRule } from '../../rate-limits/rate-limits.ts';
import { normalizeUsername, publicUser } from '../../users/users.ts';
import { finishPasskeyAssertion, passkeyAssurance, startPasskeySignIn, startPasskeyStepUp } from '../../webauthn/authentication.ts';
import { finishPasskeyEnrollment, finishPasskeySignUp, startPasskeyEnrollment, startPasskeySignUp } from '../../webauthn/registration.ts';
import { relyingPartyFrom } from '../../webauthn/relying-party.ts';
import { completeStepUp, startSession } from '../auth-session.ts';
import type { AppDeps } from '../context.ts';
import { errorResponse } from '../errors.ts';
import { limitByAddress } from '../middleware/address-rate-limit.ts';
import { displayNameSchema, NewUsernameSchema, UsernameSchema } from '../schemas.ts';
import { authOf, requireSession } from '../middleware/session.ts';
import { finishCeremony } from '../passkey-ceremony.ts';
import { createRouter, errorResponses, jsonBody, jsonContent, z } from '../router.ts';
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
const CeremonyIdSchema = z.string().min(1).max(128);

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

const RegistrationResponseSchema = credentialSchema({
  attestationObject: base64url.min(1).max(32_768),
  transports: z.array(z.string().max(32)).max(16).optional(),
}).openapi('RegistrationResponse', { description: 'What @simplewebauthn/browser startRegistration() returns' });

const AuthenticationResponseSchema = credentialSchema({
  authenticatorData: base64url.min(1).max(4096),
  signature: base64url.min(1).max(2048),
  userHandle: base64url.max(128).optional(),
}).openapi('AuthenticationResponse', { description: 'What @simplewebauthn/browser startAuthentication() returns' });

const CeremonyStartSchema = z.object({ ceremonyId: z.string(), options: z.record(z.string(), z.unknown()) }).openapi('PasskeyCeremony');
const RegistrationFinishSchema = z.object({ ceremonyId: CeremonyIdSchema, response: RegistrationResponseSchema, label: LabelSchema.optional() });
const AuthenticationFinishSchema = z.object({ ceremonyId: CeremonyIdSchema, response: AuthenticationResponseSchema });

/** Passkey sign-up, sign-in, step-up and enrollment, and the related-origins document. */
export function passkeyRoutes(deps: AppDeps, authenticatorNames: AuthenticatorNames) {
  const router = createRouter();
  const rp = relyingPartyFrom(deps.config);
  const limit = (scope: string, rule: RateLimitRule) => limitByAddress({ db: deps.db, scope, rule });

  router.use('/api/signup/passkey/options', limit('passkey_signup_options', passkeyRateLimits.options));
  router.use('/api/signup/passkey/verify', limit('passkey_signup_verify', passkeyRateLimits.verify));
  router.use('/api/signin/passkey/options', limit('passkey_signin_options', passkeyRateLimits.options));
  router.use('/api/signin/passkey/verify', limit('passkey_signin_verify', passkeyRateLimits.verify));
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
      const body = c.req.valid('json');
      return c.json(await startPasskeySignUp(deps.db, deps.keyring, rp, body, c.get('now')), 200);
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
      const user = await finishCeremony(c, deps, 'passkey.signup', async (trx) => {
        const outcome = await finishPasskeySignUp(trx, deps.keyring, rp, { ceremonyId, response: response as RegistrationResponseJSON, label: label ?? null }, c.get('now'));
        if (!outcome.ok) return outcome;
        const { user, factor, userVerified } = outcome.value;
        const session = await startSession(c, deps, trx, user.id, { ...passkeyAssurance(userVerified), factorIds: [factor.id] });
        return { ok: true, value: { result: user, userId: user.id, factorId: factor.id, sessionId: session.id, details: { userVerified, aaguid: factor.aaguid } } };
      });
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
      return c.json(await startPasskeySignIn(deps.db, deps.keyring, rp, { username: username ?? null }, c.get('now')), 200);
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
      const user = await finishCeremony(c, deps, 'passkey.signin', async (trx) => {
        const outcome = await finishPasskeyAssertion(trx, deps.keyring, rp, { ceremonyId, response: response as AuthenticationResponseJSON }, { kind: 'passkey_signin' }, c.get('now'));
        if (!outcome.ok) return outcome;
        const { user, factor, userVerified } = outcome.value;
        const session = await startSession(c, deps, trx, user.id, { ...passkeyAssurance(userVerified), factorIds: [factor.id] });
        return { ok: true, value: { result: user, userId: user.id, factorId: factor.id, sessionId: session.id, details: { userVerified } } };
      });
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
    async (c) => {
      const { user, session } = authOf(c);
      return c.json(await startPasskeyStepUp(deps.db, deps.keyring, rp, { userId: user.id, sessionId: session.id }, c.get('now')), 200);
    },
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
      const { user, session } = authOf(c);
      const { ceremonyId, response } = c.req.valid('json');
      const stepped = await finishCeremony(c, deps, 'passkey.step_up', async (trx) => {
        const purpose = { kind: 'passkey_step_up' as const, userId: user.id, sessionId: session.id };
        const outcome = await finishPasskeyAssertion(trx, deps.keyring, rp, { ceremonyId, response: response as AuthenticationResponseJSON }, purpose, c.get('now'));
        if (!outcome.ok) return outcome;
        const { factor, userVerified } = outcome.value;
        const result = await completeStepUp(c, deps, trx, { factorId: factor.id, method: 'passkey', ...passkeyAssurance(userVerified) });
        return { ok: true, value: { result, userId: user.id, factorId: factor.id, details: { userVerified } } };
      });
      return c.json({ session: stepped }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/factors/passkeys/options',
      tags: ['Passkeys'],
      summary: 'Start adding a passkey (step-up policy applies)',
      responses: { 200: jsonContent(CeremonyStartSchema, 'Creation options'), ...errorResponses },
    }),
    async (c) => {
      const { user, session } = authOf(c);
      await requireAllowed(deps.db, 'factor.add', session, c.get('now'));
      return c.json(await startPasskeyEnrollment(deps.db, deps.keyring, rp, { user, sessionId: session.id }, c.get('now')), 200);
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
      const { user, session } = authOf(c);
      const { ceremonyId, response, label } = c.req.valid('json');
      const now = c.get('now');
      const factor = await finishCeremony(c, deps, 'factor.add', async (trx) => {
        // Checked again here: the proof may have aged past the policy while the user held their key.
        await requireAllowed(trx, 'factor.add', session, now);
        const input = { ceremonyId, response: response as RegistrationResponseJSON, label: label ?? null, userId: user.id, sessionId: session.id };
        const outcome = await finishPasskeyEnrollment(trx, deps.keyring, rp, input, now);
        if (!outcome.ok) return outcome;
        const { factor } = outcome.value;
        return { ok: true, value: { result: factor, userId: user.id, factorId: factor.id, details: { kind: 'passkey', aaguid: factor.aaguid, userVerified: factor.user_verified } } };
      });
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
