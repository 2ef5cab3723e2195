import { createRoute } from '@hono/zod-openapi';
import { SECOND_FACTOR_METHODS, submitPassword } from '../../auth/sign-in/password.ts';
import { signInWithBackupCode, signInWithTotpCode } from '../../auth/sign-in/second-factor.ts';
import { prepareDummyPassword } from '../../factors/password.ts';
import { publicUser } from '../../users/users.ts';
import { requesterOf, type AppDeps } from '../context.ts';
import { readDeviceCookie, setDeviceCookie } from '../device-cookie.ts';
import { limitByAddress } from '../middleware/address-rate-limit.ts';
import { createRouter, errorResponses, jsonBody, jsonContent, z } from '../router.ts';
import { setEstablishedSession } from '../session-cookie.ts';
import { PasswordSchema, wellFormedText } from '../schemas.ts';
import { rolloutNotice } from '../../policy/rollout.ts';
import { RolloutSchema, UserSchema } from './session.ts';
import { CodeSchema } from './totp-shared.ts';

export const passwordStepRateLimit = { limit: 30, windowSeconds: 60, lockoutSeconds: 60 };

const TicketSchema = z.string().min(1).max(128);

/** The fallback sign-in: password, then a TOTP code or a backup code (flows in src/auth/sign-in/). */
export function passwordSigninRoutes(deps: AppDeps) {
  const router = createRouter();
  // Credential stuffing tries many usernames from one address; the second-factor lockout only
  // starts counting once a password was right. This caps the password step itself, per address
  // only, so nobody can lock a user out by failing on their behalf.
  router.use('/api/signin/password', limitByAddress({ db: deps.db, scope: 'password_signin', rule: passwordStepRateLimit }));
  prepareDummyPassword().catch(() => undefined); // a failure here resurfaces, and is retried, at the first sign-in

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/signin/password',
      tags: ['Sign-in'],
      summary: 'First step of the fallback: the password. Answers a ticket for the second factor (or signs in on a remembered browser)',
      request: jsonBody(z.object({ username: wellFormedText().max(256), password: PasswordSchema })),
      responses: {
        200: jsonContent(
          z.union([z.object({ ticket: z.string(), methods: z.array(z.enum(SECOND_FACTOR_METHODS)) }), z.object({ user: UserSchema, rollout: RolloutSchema })]),
          'A ticket for the second step, or the user when a remembered browser stood in for it (with the passkey rollout\'s invitation or restriction)',
        ),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { username, password } = c.req.valid('json');
      const result = await submitPassword(deps, requesterOf(c), { username, password, deviceToken: readDeviceCookie(c) });
      if (result.kind === 'ticket') return c.json({ ticket: result.ticket, methods: result.methods }, 200);
      setEstablishedSession(c, result.established, c.get('now'));
      return c.json({ user: publicUser(result.user), rollout: rolloutNotice(result.established.session, c.get('now')) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/signin/totp',
      tags: ['Sign-in'],
      summary: 'Second step: a code from the authenticator app',
      request: jsonBody(z.object({ ticket: TicketSchema, code: CodeSchema, rememberDevice: z.boolean().optional() })),
      responses: { 200: jsonContent(z.object({ user: UserSchema, rollout: RolloutSchema }), 'Signed in (rollout: the passkey invitation or restriction)'), ...errorResponses },
    }),
    async (c) => {
      const { ticket, code, rememberDevice } = c.req.valid('json');
      const { user, established, result } = await signInWithTotpCode(deps, requesterOf(c), { ticket, code, rememberDevice: rememberDevice ?? false });
      if (result.rememberedDevice) setDeviceCookie(c, result.rememberedDevice.token);
      setEstablishedSession(c, established, c.get('now'));
      return c.json({ user: publicUser(user), rollout: rolloutNotice(established.session, c.get('now')) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/signin/backup-code',
      tags: ['Sign-in'],
      summary: 'Second step with a backup code (a recovery: remembered browsers are forgotten, and their sessions end)',
      request: jsonBody(z.object({ ticket: TicketSchema, code: z.string().min(1).max(64) })),
      responses: {
        200: jsonContent(
          z.object({ user: UserSchema, remainingBackupCodes: z.number(), suggestions: z.array(z.enum(['regenerate_backup_codes', 'add_passkey'])), rollout: RolloutSchema }),
          'Signed in (recovery)',
        ),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { ticket, code } = c.req.valid('json');
      const { user, established, result } = await signInWithBackupCode(deps, requesterOf(c), { ticket, code });
      setEstablishedSession(c, established, c.get('now'));
      return c.json(
        { user: publicUser(user), remainingBackupCodes: result.remaining, suggestions: ['regenerate_backup_codes' as const, 'add_passkey' as const], rollout: rolloutNotice(established.session, c.get('now')) },
        200,
      );
    },
  );

  return router;
}
