import { createRoute } from '@hono/zod-openapi';
import { clearOwnPasskeyFlag } from '../../auth/manage/factors.ts';
import type { AuthenticatorNames } from '../../factors/aaguid.ts';
import { presentFactors } from '../../factors/present.ts';
import { requesterOf, type AppDeps } from '../context.ts';
import { requireSession } from '../middleware/session.ts';
import { createRouter, errorResponses, jsonContent, z } from '../router.ts';
import { FactorSchema } from './factors.ts';

const PasskeyIdParams = z.object({ id: z.uuid() });

/** "This was me" for a passkey flagged as a possible clone (flow: clearOwnPasskeyFlag). */
export function passkeyFlagRoutes(deps: AppDeps, authenticatorNames: AuthenticatorNames) {
  const router = createRouter();
  router.use('/api/factors/passkeys/:id/clear-flag', requireSession());

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/factors/passkeys/{id}/clear-flag',
      tags: ['Passkeys'],
      summary: 'Clear the possible-clone flag of one of your passkeys, so it signs in again (step-up policy applies)',
      request: { params: PasskeyIdParams },
      responses: { 200: jsonContent(z.object({ factor: FactorSchema }), 'Cleared'), 404: jsonContent(z.any(), 'No such passkey'), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const factor = await clearOwnPasskeyFlag(deps, requesterOf(c), { factorId: id });
      const [presented] = await presentFactors(deps.db, [factor], authenticatorNames);
      return c.json({ factor: presented! }, 200);
    },
  );

  return router;
}
