import { createRoute } from '@hono/zod-openapi';
import { LatchError } from '../../errors.ts';
import type { AuthenticatorNames } from '../../factors/aaguid.ts';
import { clearPasskeyFlag } from '../../factors/passkey-flag.ts';
import { presentFactors } from '../../factors/present.ts';
import { requireAllowed } from '../../policy/enforce.ts';
import { requestContext, type AppDeps } from '../context.ts';
import { authOf, requireSession } from '../middleware/session.ts';
import { createRouter, errorResponses, jsonContent, z } from '../router.ts';
import { FactorSchema } from './factors.ts';

const PasskeyIdParams = z.object({ id: z.uuid() });

/**
 * "This was me": the owner of a passkey flagged as a possible clone vouches for it, so it signs in
 * again. As strong a decision as removing it, so it asks what removing a factor asks (a fresh
 * step-up — which the flagged passkey itself cannot give).
 */
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
      const { session, user } = authOf(c);
      const { id } = c.req.valid('param');
      const context = requestContext(c);
      const result = await deps.db.transaction().execute(async (trx) => {
        await requireAllowed(trx, 'factor.remove', session, context.now);
        return clearPasskeyFlag(trx, context, { userId: user.id, factorId: id, actorUserId: user.id, actorSessionId: session.id });
      });
      if (result.outcome === 'not_found') throw new LatchError('factor_not_found');
      const [presented] = await presentFactors(deps.db, [result.factor], authenticatorNames);
      return c.json({ factor: presented! }, 200);
    },
  );

  return router;
}
