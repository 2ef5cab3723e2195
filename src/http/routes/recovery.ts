import { createRoute } from '@hono/zod-openapi';
import {
  approveRecoveryAsAdmin,
  cancelRecoveryAsAdmin,
  listRecoveriesAsAdmin,
  openRecoveryAsAdmin,
  revealRecoveryLinkAsAdmin,
} from '../../auth/admin/recovery.ts';
import { acceptSelfRecovery, cancelOwnRecovery, openSelfRecoveryNamed, showOwnRecovery } from '../../auth/manage/recovery.ts';
import type { DeferredWork } from '../../deferred-work.ts';
import { requesterOf, type AppDeps } from '../context.ts';
import { requireSession } from '../middleware/session.ts';
import { createRouter, errorResponses, jsonBody, jsonContent, z } from '../router.ts';
import { wellFormedText } from '../schemas.ts';

const RecoverySchema = z
  .object({
    id: z.string(),
    userId: z.string(),
    mode: z.enum(['admin', 'self']),
    status: z.enum(['requested', 'waiting', 'ready', 'completed', 'cancelled', 'expired']),
    reason: z.string(),
    openedBy: z.string().nullable(),
    approvedBy: z.string().nullable(),
    createdAt: z.string(),
    approvedAt: z.string().nullable(),
    waitEndsAt: z.string().nullable(),
    linkDelivery: z.enum(['email', 'admin']).nullable(),
    linkIssuedAt: z.string().nullable(),
    completedAt: z.string().nullable(),
    cancelledAt: z.string().nullable(),
    cancelReason: z.string().nullable(),
  })
  .openapi('RecoveryRequest');
const RecoveryListItemSchema = RecoverySchema.extend({ username: z.string(), openedByUsername: z.string().nullable(), approvedByUsername: z.string().nullable() }).openapi('RecoveryRequestListItem');
const OwnRecoverySchema = z
  .object({ id: z.string(), mode: z.enum(['admin', 'self']), status: z.enum(['requested', 'waiting', 'ready', 'completed', 'cancelled', 'expired']), createdAt: z.string(), waitEndsAt: z.string().nullable() })
  .openapi('OwnRecoveryRequest');
const RequestIdParams = z.object({ id: z.uuid() });
const adminTags = ['Administration', 'Recovery'];

/**
 * Account recovery (src/recovery/): the admin side (open, approve by a second admin, cancel, the
 * link once to the approver) and the user's side (see and cancel their own pending request).
 */
export function recoveryRoutes(deps: AppDeps & { deferred: DeferredWork }) {
  const router = createRouter();
  router.use('/api/admin/recovery', requireSession());
  router.use('/api/admin/recovery/*', requireSession());
  router.use('/api/recovery', requireSession());
  router.use('/api/recovery/cancel', requireSession());

  router.openapi(
    createRoute({
      method: 'get',
      path: '/api/admin/recovery',
      tags: adminTags,
      summary: 'Recovery requests, newest first, optionally of one user or only open ones (admin.read)',
      request: { query: z.object({ userId: z.uuid().optional(), open: z.enum(['true', 'false']).optional() }) },
      responses: { 200: jsonContent(z.object({ requests: z.array(RecoveryListItemSchema) }), 'Requests, with the usernames of the user and of both administrators'), ...errorResponses },
    }),
    async (c) => {
      const query = c.req.valid('query');
      return c.json({ requests: await listRecoveriesAsAdmin(deps, requesterOf(c), { userId: query.userId ?? null, open: query.open === 'true' }) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/admin/recovery',
      tags: adminTags,
      summary: 'Open a recovery request for a user who lost every factor, with a reason; another administrator must approve it (admin.write, rate-limited)',
      request: jsonBody(z.object({ userId: z.uuid(), reason: wellFormedText().trim().min(1).max(500) })),
      responses: { 201: jsonContent(z.object({ request: RecoverySchema }), 'Opened'), 404: jsonContent(z.any(), 'No such user'), 409: jsonContent(z.any(), 'Refused'), ...errorResponses },
    }),
    async (c) => c.json({ request: await openRecoveryAsAdmin(deps, requesterOf(c), c.req.valid('json')) }, 201),
  );

  const action = (path: string, summary: string, run: (requester: ReturnType<typeof requesterOf>, requestId: string) => Promise<z.infer<typeof RecoverySchema>>) =>
    router.openapi(
      createRoute({
        method: 'post',
        path,
        tags: adminTags,
        summary,
        request: { params: RequestIdParams },
        responses: { 200: jsonContent(z.object({ request: RecoverySchema }), 'Done'), 404: jsonContent(z.any(), 'No such request'), 409: jsonContent(z.any(), 'Refused'), ...errorResponses },
      }),
      async (c) => c.json({ request: await run(requesterOf(c), c.req.valid('param').id) }, 200),
    );
  action('/api/admin/recovery/{id}/approve', 'Approve a recovery request opened by another administrator; the waiting period starts (admin.write)', (requester, requestId) =>
    approveRecoveryAsAdmin(deps, requester, { requestId }),
  );
  action('/api/admin/recovery/{id}/cancel', 'Cancel an open recovery request (admin.write)', (requester, requestId) => cancelRecoveryAsAdmin(deps, requester, { requestId }));

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/admin/recovery/{id}/link',
      tags: adminTags,
      summary: 'After the wait, for a user without a confirmed email address: the single-use enrollment link (1 hour), shown this once to the approving administrator (admin.write)',
      request: { params: RequestIdParams },
      responses: { 200: jsonContent(z.object({ url: z.string(), expiresAt: z.string() }), 'The link, once'), 404: jsonContent(z.any(), 'No such request'), 409: jsonContent(z.any(), 'Not yet, or not this way'), ...errorResponses },
    }),
    async (c) => {
      c.header('Cache-Control', 'no-store');
      return c.json(await revealRecoveryLinkAsAdmin(deps, requesterOf(c), { requestId: c.req.valid('param').id }), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/api/recovery',
      tags: ['Recovery'],
      summary: "The signed-in user's open recovery request, if any",
      responses: { 200: jsonContent(z.object({ recovery: OwnRecoverySchema.nullable() }), 'The request or null'), ...errorResponses },
    }),
    async (c) => c.json(await showOwnRecovery(deps, requesterOf(c)), 200),
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/recovery/cancel',
      tags: ['Recovery'],
      summary: "Cancel the signed-in user's open recovery request",
      responses: { 200: jsonContent(z.object({ recovery: OwnRecoverySchema }), 'Cancelled'), 404: jsonContent(z.any(), 'None open'), ...errorResponses },
    }),
    async (c) => c.json(await cancelOwnRecovery(deps, requesterOf(c)), 200),
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/api/recovery/self',
      tags: ['Recovery'],
      summary: 'Signed out: whether self-service recovery by email is offered here (LATCH_SELF_RECOVERY=email); the sign-in page shows its form only then',
      responses: { 200: jsonContent(z.object({ offered: z.boolean(), waitHours: z.number().nullable() }), 'Offered or not, and the waiting period when offered'), ...errorResponses },
    }),
    (c) => {
      const offered = deps.config.recovery.selfService === 'email';
      return c.json({ offered, waitHours: offered ? deps.config.recovery.selfServiceWaitHours : null }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/recovery/self',
      tags: ['Recovery'],
      summary:
        'Signed out, with LATCH_SELF_RECOVERY=email: ask to recover an account by username or confirmed email address. The same answer, after the same work, whether or not the account exists: the account is looked up after answering. After the wait (72 h by default) a link goes to its confirmed address.',
      request: jsonBody(z.object({ identifier: wellFormedText().trim().min(1).max(254) })),
      responses: { 202: jsonContent(z.object({ accepted: z.literal(true) }), 'Accepted (whether or not such an account exists)'), 404: jsonContent(z.any(), 'Self-service recovery is off'), ...errorResponses },
    }),
    async (c) => {
      const requester = requesterOf(c);
      const answer = await acceptSelfRecovery(deps, requester);
      // Looking the account up before answering would make an existing one answer later (issue 15).
      const input = c.req.valid('json');
      deps.deferred.run('recovery.self', () => openSelfRecoveryNamed(deps, requester, input));
      return c.json(answer, 202);
    },
  );

  return router;
}
