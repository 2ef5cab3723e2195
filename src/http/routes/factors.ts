import { createRoute } from '@hono/zod-openapi';
import { removeOwnFactor, renameOwnFactor } from '../../auth/manage/factors.ts';
import type { AuthenticatorNames } from '../../factors/aaguid.ts';
import { listActiveFactors } from '../../factors/factors.ts';
import { presentFactors } from '../../factors/present.ts';
import { requesterOf, type AppDeps } from '../context.ts';
import { authOf, requireSession } from '../middleware/session.ts';
import { clearSessionCookie } from '../session-cookie.ts';
import { createRouter, errorResponses, jsonBody, jsonContent, z } from '../router.ts';
import { wellFormedText } from '../schemas.ts';

export const FactorSchema = z
  .object({
    id: z.string(),
    kind: z.enum(['passkey', 'totp', 'backup_codes', 'password']),
    label: z.string().nullable(),
    status: z.enum(['pending', 'active', 'revoked']),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
  })
  .passthrough()
  .openapi('Factor');

const FactorIdParams = z.object({ id: z.uuid() });
export const LabelSchema = wellFormedText().trim().min(1).max(64);

/** The kind-independent factor routes: list, rename, revoke. Adding a factor lives with its kind. */
export function factorRoutes(deps: AppDeps, authenticatorNames: AuthenticatorNames) {
  const router = createRouter();
  router.use('/api/factors', requireSession());
  router.use('/api/factors/*', requireSession());

  router.openapi(
    createRoute({
      method: 'get',
      path: '/api/factors',
      tags: ['Factors'],
      summary: "The signed-in user's active factors",
      responses: { 200: jsonContent(z.array(FactorSchema), 'Factors'), ...errorResponses },
    }),
    async (c) => {
      const { user } = authOf(c);
      return c.json(await presentFactors(deps.db, await listActiveFactors(deps.db, user.id), authenticatorNames), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'patch',
      path: '/api/factors/{id}',
      tags: ['Factors'],
      summary: 'Rename a factor',
      request: { params: FactorIdParams, ...jsonBody(z.object({ label: LabelSchema })) },
      responses: { 200: jsonContent(z.object({ factor: FactorSchema }), 'Renamed'), 404: jsonContent(z.any(), 'No such factor'), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { label } = c.req.valid('json');
      const factor = await renameOwnFactor(deps, requesterOf(c), { factorId: id, label });
      const [presented] = await presentFactors(deps.db, [factor], authenticatorNames);
      return c.json({ factor: presented! }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/api/factors/{id}',
      tags: ['Factors'],
      summary: 'Revoke a factor (ends the sessions it established)',
      request: { params: FactorIdParams },
      responses: {
        200: jsonContent(z.object({ revoked: z.string(), endedSessions: z.number(), signedOut: z.boolean() }), 'Revoked'),
        404: jsonContent(z.any(), 'No such factor'),
        409: jsonContent(z.any(), 'The last way to sign in'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const result = await removeOwnFactor(deps, requesterOf(c), { factorId: id });
      // Removing the factor this session was made with ends this session too.
      if (result.signedOut) clearSessionCookie(c);
      return c.json({ revoked: result.factor.id, endedSessions: result.endedSessions, signedOut: result.signedOut }, 200);
    },
  );

  return router;
}
