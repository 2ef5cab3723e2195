import { createRoute } from '@hono/zod-openapi';
import { listAuditEventsForUser } from '../../audit/audit.ts';
import type { AppDeps } from '../context.ts';
import { authOf, requireSession } from '../middleware/session.ts';
import { createRouter, errorResponses, jsonContent, z } from '../router.ts';

const AuditEventSchema = z
  .object({
    id: z.string(),
    occurredAt: z.string(),
    action: z.string(),
    outcome: z.enum(['success', 'failure', 'denied']),
    factorId: z.string().nullable(),
    sessionId: z.string().nullable(),
    clientAddress: z.string().nullable(),
    userAgent: z.string().nullable(),
    byAnotherUser: z.boolean(),
    details: z.record(z.string(), z.unknown()),
  })
  .openapi('AuditEvent');

const AuditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  // Event ids are bigint: a larger number would overflow in the query (a 500), not just find nothing.
  before: z
    .string()
    .regex(/^\d{1,19}$/, 'must be an event id')
    .refine((value) => BigInt(value) <= 9223372036854775807n, 'must be an event id')
    .optional(),
});

export function auditRoutes(deps: AppDeps) {
  const router = createRouter();
  router.use('/api/audit', requireSession());
  router.openapi(
    createRoute({
      method: 'get',
      path: '/api/audit',
      tags: ['Audit'],
      summary: "The signed-in user's own security events, newest first",
      request: { query: AuditQuery },
      responses: {
        200: jsonContent(z.object({ events: z.array(AuditEventSchema), nextBefore: z.string().nullable() }), 'Events'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { user } = authOf(c);
      const { limit, before } = c.req.valid('query');
      const page = await listAuditEventsForUser(deps.db, user.id, { limit, before: before ?? null });
      return c.json(
        {
          events: page.events.map((event) => ({
            id: String(event.id),
            occurredAt: event.occurred_at.toISOString(),
            action: event.action,
            outcome: event.outcome,
            factorId: event.factor_id,
            sessionId: event.session_id,
            clientAddress: event.client_address,
            userAgent: event.user_agent,
            byAnotherUser: event.actor_user_id !== null && event.actor_user_id !== user.id,
            details: event.details,
          })),
          nextBefore: page.nextBefore,
        },
        200,
      );
    },
  );
  return router;
}
