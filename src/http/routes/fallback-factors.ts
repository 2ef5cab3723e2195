import { createRoute } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { recordAudit } from '../../audit/audit.ts';
import { consumeCeremony, createCeremony, spendCeremonyAttempt } from '../../ceremonies/ceremonies.ts';
import { LatchError } from '../../errors.ts';
import { createBackupCodeSet } from '../../factors/backup-codes.ts';
import { findActiveFactorOfKind } from '../../factors/factors.ts';
import { assertAcceptablePassword, findActivePassword, hashPassword, storePasswordHash } from '../../factors/password.ts';
import { presentFactors } from '../../factors/present.ts';
import { forgetRememberedDevices } from '../../factors/remembered-devices.ts';
import {
  defaultTotpParameters,
  findActiveTotp,
  generateTotpSecret,
  insertTotpFactor,
  matchTotpCode,
  sealPendingSecret,
  unsealPendingSecret,
  useTotpCode,
} from '../../factors/totp.ts';
import { assertNotLockedOut, recordSecondFactorFailure, resetSecondFactorFailures } from '../../lockout/second-factor.ts';
import { queueNotification } from '../../notifications/outbox.ts';
import { requireAllowed } from '../../policy/enforce.ts';
import { revokeOtherSessions } from '../../sessions/sessions.ts';
import { completeStepUp } from '../auth-session.ts';
import { requestContext, type AppDeps } from '../context.ts';
import { authOf, requireSession } from '../middleware/session.ts';
import { createRouter, errorResponses, jsonBody, jsonContent, z } from '../router.ts';
import { PasswordSchema } from '../schemas.ts';
import { FactorSchema, LabelSchema } from './factors.ts';
import { ENROLLMENT_MAX_ATTEMPTS, ENROLLMENT_TTL_SECONDS } from './totp-signup.ts';
import { CodeSchema, EnrollmentSchema, presentEnrollment } from './totp-shared.ts';

interface PendingSetup {
  enrollmentId: string;
  secretSealed: string;
  keyId: string;
}

/** Adding the fallback factors to an account, and step-up with TOTP. Every change goes through the policy engine. */
export function fallbackFactorRoutes(deps: AppDeps) {
  const router = createRouter();
  for (const path of ['/api/factors/totp/*', '/api/factors/backup-codes', '/api/factors/password', '/api/step-up/totp']) router.use(path, requireSession());

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/factors/totp/setup',
      tags: ['Factors'],
      summary: 'Start adding an authenticator app',
      responses: { 200: jsonContent(EnrollmentSchema, 'Scan or type the secret, then confirm a code'), 409: jsonContent(z.any(), 'Already enrolled'), ...errorResponses },
    }),
    async (c) => {
      const { session, user } = authOf(c);
      const context = requestContext(c);
      await requireAllowed(deps.db, 'factor.add', session, context.now);
      if (await findActiveTotp(deps.db, user.id)) throw new LatchError('totp_already_enrolled');
      const secret = generateTotpSecret();
      const enrollmentId = randomUUID();
      const sealed = sealPendingSecret(deps.keyring, secret, enrollmentId);
      const pending: PendingSetup = { enrollmentId, secretSealed: sealed.sealed, keyId: sealed.keyId };
      const ceremonyId = await createCeremony(
        deps.db,
        deps.keyring,
        { kind: 'totp_setup', userId: user.id, sessionId: session.id, data: { ...pending }, ttlSeconds: ENROLLMENT_TTL_SECONDS, maxAttempts: ENROLLMENT_MAX_ATTEMPTS },
        context.now,
      );
      return c.json(await presentEnrollment(deps, ceremonyId, user.username, secret), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/factors/totp/verify',
      tags: ['Factors'],
      summary: 'Confirm a code: the authenticator becomes active (and backup codes are created if there are none)',
      request: jsonBody(z.object({ ceremonyId: z.string().min(1).max(128), code: CodeSchema, label: LabelSchema.optional() })),
      responses: {
        201: jsonContent(z.object({ factor: FactorSchema, backupCodes: z.array(z.string()).optional() }), 'Added'),
        409: jsonContent(z.any(), 'Already enrolled'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { session, user } = authOf(c);
      const { ceremonyId, code, label } = c.req.valid('json');
      const context = requestContext(c);
      const ceremony = await spendCeremonyAttempt(deps.db, deps.keyring, ceremonyId, 'totp_setup', context.now);
      // Bound to the session that started it: another session (or user) cannot finish it.
      if (!ceremony || ceremony.user_id !== user.id || ceremony.session_id !== session.id) throw new LatchError('ceremony_invalid');
      const pending = ceremony.data as unknown as PendingSetup;
      const secret = unsealPendingSecret(deps.keyring, { sealed: pending.secretSealed, keyId: pending.keyId }, pending.enrollmentId);
      const step = await matchTotpCode(secret, code, context.now, defaultTotpParameters, null);
      if (step === null) throw new LatchError('code_invalid', undefined, { attemptsLeft: ceremony.max_attempts - ceremony.attempts });

      const { factor, backupCodes } = await deps.db.transaction().execute(async (trx) => {
        await requireAllowed(trx, 'factor.add', session, context.now);
        if (!(await consumeCeremony(trx, deps.keyring, ceremonyId, 'totp_setup', context.now))) throw new LatchError('ceremony_invalid');
        if (await findActiveTotp(trx, user.id)) throw new LatchError('totp_already_enrolled');
        const factor = await insertTotpFactor(trx, deps.keyring, user.id, secret, step, context.now, label ?? null);
        const hasBackupCodes = (await findActiveFactorOfKind(trx, user.id, 'backup_codes')) !== null;
        const backup = hasBackupCodes ? null : await createBackupCodeSet(trx, deps.keyring, user.id, context.now);
        await recordAudit(trx, context, {
          action: 'factor.add',
          outcome: 'success',
          actorUserId: user.id,
          subjectUserId: user.id,
          sessionId: session.id,
          factorId: factor.id,
          details: { kind: 'totp', backupCodesCreated: backup !== null },
        });
        await queueNotification(trx, { userId: user.id, kind: 'factor_added', payload: { factorId: factor.id, kind: 'totp' }, now: context.now });
        return { factor, backupCodes: backup?.codes };
      });
      const [presented] = await presentFactors(deps.db, [factor]);
      return c.json({ factor: presented!, ...(backupCodes ? { backupCodes } : {}) }, 201);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/factors/backup-codes',
      tags: ['Factors'],
      summary: 'A new set of backup codes, shown once; the old set stops working',
      responses: { 201: jsonContent(z.object({ codes: z.array(z.string()) }), 'New codes'), ...errorResponses },
    }),
    async (c) => {
      const { session, user } = authOf(c);
      const context = requestContext(c);
      const codes = await deps.db.transaction().execute(async (trx) => {
        await requireAllowed(trx, 'backup_codes.regenerate', session, context.now);
        const { factor, codes, replacedFactorId } = await createBackupCodeSet(trx, deps.keyring, user.id, context.now);
        await recordAudit(trx, context, {
          action: 'backup_codes.regenerate',
          outcome: 'success',
          actorUserId: user.id,
          subjectUserId: user.id,
          sessionId: session.id,
          factorId: factor.id,
          details: { replacedFactorId },
        });
        await queueNotification(trx, { userId: user.id, kind: 'backup_codes_regenerated', payload: { factorId: factor.id }, now: context.now });
        return codes;
      });
      return c.json({ codes }, 201);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/factors/password',
      tags: ['Factors'],
      summary: 'Set or change the password (a change ends other sessions and forgets remembered browsers)',
      request: jsonBody(z.object({ newPassword: PasswordSchema })),
      responses: { 200: jsonContent(z.object({ factor: FactorSchema, endedSessions: z.number() }), 'Set'), ...errorResponses },
    }),
    async (c) => {
      const { session, user } = authOf(c);
      const { newPassword } = c.req.valid('json');
      const context = requestContext(c);
      const existing = await findActivePassword(deps.db, user.id);
      const action = existing ? 'password.change' : 'factor.add';
      await requireAllowed(deps.db, action, session, context.now);
      assertAcceptablePassword(newPassword, user.username);
      const passwordHash = await hashPassword(newPassword);

      const { factor, endedSessions } = await deps.db.transaction().execute(async (trx) => {
        const { factor, created } = await storePasswordHash(trx, user.id, passwordHash, context.now);
        let endedSessions: string[] = [];
        let forgottenDevices: string[] = [];
        if (!created) {
          // Whoever knew the old password may hold a session or a remembered browser: end them.
          endedSessions = await revokeOtherSessions(trx, user.id, session.id, 'password_changed', context.now);
          forgottenDevices = await forgetRememberedDevices(trx, user.id, null, context.now);
        }
        await recordAudit(trx, context, {
          action: created ? 'factor.add' : 'password.change',
          outcome: 'success',
          actorUserId: user.id,
          subjectUserId: user.id,
          sessionId: session.id,
          factorId: factor.id,
          details: { kind: 'password', endedSessions: endedSessions.length, forgottenDevices: forgottenDevices.length },
        });
        await queueNotification(trx, {
          userId: user.id,
          kind: created ? 'factor_added' : 'password_changed',
          payload: { factorId: factor.id, kind: 'password' },
          now: context.now,
        });
        return { factor, endedSessions };
      });
      const [presented] = await presentFactors(deps.db, [factor]);
      return c.json({ factor: presented!, endedSessions: endedSessions.length }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/step-up/totp',
      tags: ['Step-up'],
      summary: 'Prove the authenticator app now, for a sensitive action (rotates the session token)',
      request: jsonBody(z.object({ code: CodeSchema })),
      responses: { 200: jsonContent(z.object({ session: z.record(z.string(), z.unknown()) }), 'Stepped up'), ...errorResponses },
    }),
    async (c) => {
      const { user } = authOf(c);
      const { code } = c.req.valid('json');
      const context = requestContext(c);
      const totp = await findActiveTotp(deps.db, user.id);
      if (!totp) throw new LatchError('totp_not_enrolled');
      // A stolen session guessing codes to step up is held to the same counters as a sign-in.
      await assertNotLockedOut(deps.db, user.id, context.clientAddress, context.now);
      const stepped = await deps.db.transaction().execute(async (trx) => {
        if (!(await useTotpCode(trx, deps.keyring, totp, code, context.now))) return null;
        await resetSecondFactorFailures(trx, user.id, context.clientAddress);
        return completeStepUp(c, deps, trx, { factorId: totp.id, method: 'totp', amr: ['otp'], aal: 2 });
      });
      if (stepped) return c.json({ session: stepped }, 200);
      await deps.db.transaction().execute(async (trx) => {
        await recordSecondFactorFailure(trx, user.id, context.clientAddress, context.now);
        await recordAudit(trx, context, { action: 'session.step_up', outcome: 'failure', actorUserId: user.id, subjectUserId: user.id, factorId: totp.id, details: { method: 'totp' } });
      });
      throw new LatchError('code_invalid');
    },
  );

  return router;
}
