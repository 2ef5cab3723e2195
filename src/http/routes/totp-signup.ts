import { createRoute } from '@hono/zod-openapi';
import { finishTotpSignUp, startTotpSignUp } from '../../auth/sign-up/totp.ts';
import { publicUser } from '../../users/users.ts';
import { requesterOf, type AppDeps } from '../context.ts';
import { displayNameSchema, NewUsernameSchema, PasswordSchema } from '../schemas.ts';
import { limitByAddress } from '../middleware/address-rate-limit.ts';
import { createRouter, errorResponses, jsonBody, jsonContent, z } from '../router.ts';
import { setEstablishedSession } from '../session-cookie.ts';
import { UserSchema } from './session.ts';
import { CodeSchema, EnrollmentSchema } from './totp-shared.ts';

const signupRateLimit = { limit: 20, windowSeconds: 60, lockoutSeconds: 60 };

/** Sign-up without a passkey: a password and an authenticator app, active only once a code proves the app has the secret (flows in src/auth/sign-up/totp.ts). */
export function totpSignupRoutes(deps: AppDeps) {
  const router = createRouter();
  // Each start costs an argon2id hash and a QR code: limit it per address like the passkey sign-up.
  router.use('/api/signup/totp/start', limitByAddress({ db: deps.db, scope: 'totp_signup_start', rule: signupRateLimit }));

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/signup/totp/start',
      tags: ['Sign-up'],
      summary: 'Start a password + authenticator-app sign-up',
      request: jsonBody(z.object({ username: NewUsernameSchema, password: PasswordSchema, displayName: displayNameSchema(64).optional() })),
      responses: { 200: jsonContent(EnrollmentSchema, 'Scan or type the secret, then confirm a code'), 409: jsonContent(z.any(), 'Username taken'), ...errorResponses },
    }),
    async (c) => {
      const { username, password, displayName } = c.req.valid('json');
      return c.json(await startTotpSignUp(deps, requesterOf(c), { username, password, displayName: displayName ?? null }), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/signup/totp/verify',
      tags: ['Sign-up'],
      summary: 'Confirm the first code: creates the account, signs in, shows the backup codes once',
      request: jsonBody(z.object({ ceremonyId: z.string().min(1).max(128), code: CodeSchema })),
      responses: {
        201: jsonContent(z.object({ user: UserSchema, backupCodes: z.array(z.string()) }), 'Signed up and signed in'),
        409: jsonContent(z.any(), 'Username taken meanwhile'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { ceremonyId, code } = c.req.valid('json');
      const { user, established, backupCodes } = await finishTotpSignUp(deps, requesterOf(c), { ceremonyId, code });
      setEstablishedSession(c, established, c.get('now'));
      return c.json({ user: publicUser(user), backupCodes }, 201);
    },
  );

  return router;
}
