import { createRoute } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { recordAudit } from '../../audit/audit.ts';
import { consumeCeremony, createCeremony, spendCeremonyAttempt } from '../../ceremonies/ceremonies.ts';
import { LatchError } from '../../errors.ts';
import { createBackupCodeSet } from '../../factors/backup-codes.ts';
import { assertAcceptablePassword, hashPassword, storePasswordHash } from '../../factors/password.ts';
import { defaultTotpParameters, generateTotpSecret, insertTotpFactor, matchTotpCode, sealPendingSecret, unsealPendingSecret } from '../../factors/totp.ts';
import { createUser, findUserByUsername, normalizeUsername, publicUser } from '../../users/users.ts';
import { startSession } from '../auth-session.ts';
import { requestContext, type AppDeps } from '../context.ts';
import { displayNameSchema, NewUsernameSchema, PasswordSchema } from '../schemas.ts';
import { limitByAddress } from '../middleware/address-rate-limit.ts';
import { createRouter, errorResponses, jsonBody, jsonContent, z } from '../router.ts';
import { UserSchema } from './session.ts';
import { CodeSchema, EnrollmentSchema, presentEnrollment } from './totp-shared.ts';

const signupRateLimit = { limit: 20, windowSeconds: 60, lockoutSeconds: 60 };

/** A pending enrollment lives ten minutes and allows a few mistyped codes. */
export const ENROLLMENT_TTL_SECONDS = 10 * 60;
export const ENROLLMENT_MAX_ATTEMPTS = 5;

/** What a pending TOTP sign-up keeps: the password only as its argon2id hash, the secret sealed. */
interface PendingSignup {
  enrollmentId: string;
  username: string;
  displayName: string | null;
  passwordHash: string;
  secretSealed: string;
  keyId: string;
}

/** Sign-up without a passkey: a password and an authenticator app, active only once a code proves the app has the secret. */
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
      const context = requestContext(c);
      assertAcceptablePassword(password, username);
      if (await findUserByUsername(deps.db, username)) throw new LatchError('username_taken');

      const secret = generateTotpSecret();
      const enrollmentId = randomUUID();
      const sealed = sealPendingSecret(deps.keyring, secret, enrollmentId);
      const pending: PendingSignup = {
        enrollmentId,
        username,
        displayName: displayName || null,
        passwordHash: await hashPassword(password),
        secretSealed: sealed.sealed,
        keyId: sealed.keyId,
      };
      const ceremonyId = await createCeremony(
        deps.db,
        deps.keyring,
        { kind: 'totp_signup', data: { ...pending }, ttlSeconds: ENROLLMENT_TTL_SECONDS, maxAttempts: ENROLLMENT_MAX_ATTEMPTS },
        context.now,
      );
      return c.json(await presentEnrollment(deps, ceremonyId, username, secret), 200);
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
      const context = requestContext(c);
      // Spending an attempt commits on its own, so wrong codes count even though nothing else is written.
      const ceremony = await spendCeremonyAttempt(deps.db, deps.keyring, ceremonyId, 'totp_signup', context.now);
      if (!ceremony) throw new LatchError('ceremony_invalid');
      const pending = ceremony.data as unknown as PendingSignup;
      const secret = unsealPendingSecret(deps.keyring, { sealed: pending.secretSealed, keyId: pending.keyId }, pending.enrollmentId);
      const step = await matchTotpCode(secret, code, context.now, defaultTotpParameters, null);
      if (step === null) throw new LatchError('code_invalid', undefined, { attemptsLeft: ceremony.max_attempts - ceremony.attempts });

      const result = await deps.db.transaction().execute(async (trx) => {
        if (!(await consumeCeremony(trx, deps.keyring, ceremonyId, 'totp_signup', context.now))) throw new LatchError('ceremony_invalid');
        const user = await createUser(trx, { username: pending.username, displayName: pending.displayName }, context.now);
        if (!user) throw new LatchError('username_taken');
        const { factor: password } = await storePasswordHash(trx, user.id, pending.passwordHash, context.now);
        const totp = await insertTotpFactor(trx, deps.keyring, user.id, secret, step, context.now, null);
        const backup = await createBackupCodeSet(trx, deps.keyring, user.id, context.now);
        await recordAudit(trx, context, {
          action: 'user.signup',
          outcome: 'success',
          actorUserId: user.id,
          subjectUserId: user.id,
          details: { method: 'password_totp', factorIds: [password.id, totp.id, backup.factor.id] },
        });
        await startSession(c, deps, trx, user.id, { amr: ['pwd', 'otp'], factorIds: [password.id, totp.id], aal: 2, phishingResistant: false });
        return { user, backupCodes: backup.codes };
      });
      return c.json({ user: publicUser(result.user), backupCodes: result.backupCodes }, 201);
    },
  );

  return router;
}
