import { createRoute } from '@hono/zod-openapi';
import { regenerateBackupCodes } from '../../auth/enroll/backup-codes.ts';
import { setPassword } from '../../auth/enroll/password.ts';
import { finishAddingTotp, startAddingTotp } from '../../auth/enroll/totp.ts';
import { stepUpWithTotp } from '../../auth/step-up.ts';
import { presentFactors } from '../../factors/present.ts';
import { requesterOf, type AppDeps } from '../context.ts';
import { requireSession } from '../middleware/session.ts';
import { createRouter, errorResponses, jsonBody, jsonContent, z } from '../router.ts';
import { setEstablishedSession } from '../session-cookie.ts';
import { PasswordSchema } from '../schemas.ts';
import { FactorSchema, LabelSchema } from './factors.ts';
import { publicSession } from './session-present.ts';
import { CodeSchema, EnrollmentSchema } from './totp-shared.ts';

/** Adding the fallback factors to an account, and step-up with TOTP (flows in src/auth/enroll/ and src/auth/step-up.ts). */
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
    async (c) => c.json(await startAddingTotp(deps, requesterOf(c)), 200),
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/factors/totp/replace',
      tags: ['Factors'],
      summary: 'Start replacing the authenticator app (a new phone): the current one works until the new one is confirmed with /api/factors/totp/verify',
      responses: { 200: jsonContent(EnrollmentSchema, 'Scan or type the new secret, then confirm a code'), ...errorResponses },
    }),
    async (c) => c.json(await startAddingTotp(deps, requesterOf(c), { replace: true }), 200),
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
      const { ceremonyId, code, label } = c.req.valid('json');
      const { factor, backupCodes } = await finishAddingTotp(deps, requesterOf(c), { ceremonyId, code, label: label ?? null });
      const [presented] = await presentFactors(deps.db, [factor]);
      return c.json({ factor: presented!, ...(backupCodes ? { backupCodes } : {}) }, 201);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/factors/backup-codes',
      tags: ['Factors'],
      summary: 'A new set of backup codes, shown once; the old set stops working and the sessions an old code opened end',
      responses: { 201: jsonContent(z.object({ codes: z.array(z.string()) }), 'New codes'), ...errorResponses },
    }),
    async (c) => {
      const { codes } = await regenerateBackupCodes(deps, requesterOf(c));
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
      const { newPassword } = c.req.valid('json');
      const { factor, endedSessions } = await setPassword(deps, requesterOf(c), { newPassword });
      const [presented] = await presentFactors(deps.db, [factor]);
      return c.json({ factor: presented!, endedSessions }, 200);
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
      const { code } = c.req.valid('json');
      const stepped = await stepUpWithTotp(deps, requesterOf(c), { code });
      setEstablishedSession(c, stepped, c.get('now'));
      return c.json({ session: publicSession(stepped.session) }, 200);
    },
  );

  return router;
}
