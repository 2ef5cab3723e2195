import { createRoute } from '@hono/zod-openapi';
import { endOtherSessions, endOwnSession, signOut } from '../../auth/manage/sessions.ts';
import { skipPasskeyInvitation } from '../../auth/manage/rollout.ts';
import { rolloutNotice } from '../../policy/rollout.ts';
import { listLiveSessions } from '../../sessions/sessions.ts';
import { publicUser } from '../../users/users.ts';
import { requesterOf, type AppDeps } from '../context.ts';
import { authOf, requireSession } from '../middleware/session.ts';
import { clearSessionCookie } from '../session-cookie.ts';
import { createRouter, errorResponses, jsonContent, z } from '../router.ts';
import { publicSession } from './session-present.ts';

const SessionSchema = z
  .object({
    id: z.string(),
    aal: z.number(),
    amr: z.array(z.string()),
    phishingResistant: z.boolean(),
    recovery: z.boolean(),
    createdAt: z.string(),
    lastSeenAt: z.string(),
    expiresAt: z.string(),
    absoluteExpiresAt: z.string(),
    steppedUpAt: z.string().nullable(),
    lastVerifiedAt: z.string(),
    clientAddress: z.string().nullable(),
    userAgent: z.string().nullable(),
    current: z.boolean().optional(),
  })
  .openapi('Session');

export const UserSchema = z
  .object({ id: z.string(), username: z.string(), displayName: z.string(), webauthnUserId: z.string(), createdAt: z.string() })
  .openapi('User');

/** What the passkey rollout asks of this session (an invitation, or a restriction), or null. */
export const RolloutSchema = z
  .union([
    z.object({ invite: z.literal(true), daysLeft: z.number().nullable(), deadline: z.string().nullable() }),
    z.object({ restricted: z.literal(true), since: z.string().nullable() }),
  ])
  .nullable()
  .openapi('Rollout');

const SessionIdParams = z.object({ id: z.uuid() });

export function sessionRoutes(deps: AppDeps) {
  const router = createRouter();
  router.use('/api/session', requireSession());
  router.use('/api/session/*', requireSession());
  router.use('/api/sessions', requireSession());
  router.use('/api/sessions/*', requireSession());

  router.openapi(
    createRoute({
      method: 'get',
      path: '/api/session',
      tags: ['Session'],
      summary: 'The signed-in user and this session',
      responses: {
        200: jsonContent(
          z.object({ user: UserSchema, session: SessionSchema, rpId: z.string(), rollout: RolloutSchema }),
          'Signed in; rpId is the WebAuthn relying party the client names in Signal API calls; rollout: the passkey invitation or restriction',
        ),
        ...errorResponses,
      },
    }),
    (c) => {
      const { user, session } = authOf(c);
      return c.json({ user: publicUser(user), session: publicSession(session), rpId: deps.config.rpId, rollout: rolloutNotice(session, c.get('now')) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/api/session/passkey-invitation',
      tags: ['Session'],
      summary: '"Not now": skip the invitation to add a passkey (asked again after the group\'s interval)',
      responses: { 204: { description: 'Skipped' }, ...errorResponses },
    }),
    async (c) => {
      await skipPasskeyInvitation(deps, requesterOf(c));
      return c.body(null, 204);
    },
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/api/session',
      tags: ['Session'],
      summary: 'Sign out',
      responses: { 204: { description: 'Signed out' }, ...errorResponses },
    }),
    async (c) => {
      await signOut(deps, requesterOf(c));
      clearSessionCookie(c);
      return c.body(null, 204);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/api/sessions',
      tags: ['Session'],
      summary: "The user's live sessions, the current one marked",
      responses: { 200: jsonContent(z.object({ sessions: z.array(SessionSchema) }), 'Sessions'), ...errorResponses },
    }),
    async (c) => {
      const { session } = authOf(c);
      const sessions = await listLiveSessions(deps.db, session.user_id, c.get('now'));
      return c.json({ sessions: sessions.map((each) => publicSession(each, session.id)) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/api/sessions/{id}',
      tags: ['Session'],
      summary: 'End one of your sessions (another one needs what ending all others needs)',
      request: { params: SessionIdParams },
      responses: { 204: { description: 'Ended' }, 404: jsonContent(z.any(), 'No such live session'), ...errorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { signedOut } = await endOwnSession(deps, requesterOf(c), { sessionId: id });
      if (signedOut) clearSessionCookie(c);
      return c.body(null, 204);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/sessions/revoke-others',
      tags: ['Session'],
      summary: 'End every session but this one',
      responses: { 200: jsonContent(z.object({ ended: z.number() }), 'Ended'), ...errorResponses },
    }),
    async (c) => {
      const { ended } = await endOtherSessions(deps, requesterOf(c));
      return c.json({ ended }, 200);
    },
  );

  return router;
}
