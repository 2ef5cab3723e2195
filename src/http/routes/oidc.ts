import { createRoute } from '@hono/zod-openapi';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { getCookie } from 'hono/cookie';
import { createClientAsAdmin, deleteClientAsAdmin, listClientsAsAdmin } from '../../auth/admin/oidc-clients.ts';
import { browserInteractions, continueInteraction, INTERACTION_COOKIE } from '../../oidc/interaction.ts';
import type { Oidc } from '../../oidc/provider.ts';
import { requesterOf, type AppContext, type AppDeps } from '../context.ts';
import { errorResponse } from '../errors.ts';
import { requireSession } from '../middleware/session.ts';
import { createRouter, errorResponses, jsonBody, jsonContent, z } from '../router.ts';

/**
 * The OpenID Connect provider (src/oidc/) under /oidc: oidc-provider is a Koa app, so its requests
 * go to its Node handler with the raw request and response (served by @hono/node-server). Its
 * form posts and token requests are not under /api, so the JSON/CSRF gate does not apply to them.
 */
export function oidcProviderHandler(oidc: Oidc) {
  return async (c: AppContext) => {
    const bindings = c.env as Partial<HttpBindings> | undefined;
    if (!bindings?.incoming || !bindings.outgoing) return errorResponse(c, 'not_found');
    await oidc.handle(bindings.incoming, bindings.outgoing);
    return RESPONSE_ALREADY_SENT;
  };
}

const InteractionParams = z.object({ uid: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/) });
const InteractionAnswer = z.union([
  z.object({ location: z.string() }),
  z.object({ consent: z.object({ client: z.object({ name: z.string() }), scopes: z.array(z.string()) }) }),
]);

const ClientSchema = z
  .object({
    clientId: z.string(),
    name: z.string(),
    public: z.boolean(),
    firstParty: z.boolean(),
    redirectUris: z.array(z.string()),
    postLogoutRedirectUris: z.array(z.string()),
    grantTypes: z.array(z.string()),
    scope: z.string(),
    backchannelLogoutUri: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('OidcClient');
const ClientInputSchema = z
  .object({
    name: z.string().min(1).max(100),
    redirectUris: z.array(z.string().max(2000)).max(20).optional(),
    postLogoutRedirectUris: z.array(z.string().max(2000)).max(20).optional(),
    public: z.boolean().optional(),
    firstParty: z.boolean().optional(),
    grantTypes: z.array(z.enum(['authorization_code', 'refresh_token', 'client_credentials'])).min(1).max(3).optional(),
    scope: z.string().max(200).optional(),
    backchannelLogoutUri: z.string().max(2000).optional(),
  })
  .strict();

export function oidcRoutes(deps: AppDeps, oidc: Oidc) {
  const router = createRouter();
  const interactionAnswer = (answer: Awaited<ReturnType<typeof continueInteraction>>) =>
    answer.outcome === 'redirect' ? { location: answer.location } : { consent: { client: answer.client, scopes: answer.scopes } };

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/oidc/interaction/{uid}/login',
      tags: ['OpenID Connect'],
      summary: "An app's sign-in request: with this browser's Latch session, go back to the app (or ask consent first)",
      request: { params: InteractionParams },
      responses: { 200: jsonContent(InteractionAnswer, 'Where to go (the provider), or the consent to ask for'), ...errorResponses },
    }),
    async (c) => {
      const { uid } = c.req.valid('param');
      return c.json(interactionAnswer(await continueInteraction(deps, requesterOf(c), oidc, { uid, browserInteractions: browserInteractions(deps.keyring, getCookie(c, INTERACTION_COOKIE)) })), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/oidc/interaction/{uid}/consent',
      tags: ['OpenID Connect'],
      summary: 'The user allows (or refuses) a third-party app the scopes it asked for',
      request: { params: InteractionParams, ...jsonBody(z.object({ approve: z.boolean() }).strict()) },
      responses: { 200: jsonContent(InteractionAnswer, 'Where to go (the provider)'), ...errorResponses },
    }),
    async (c) => {
      const { uid } = c.req.valid('param');
      const { approve } = c.req.valid('json');
      return c.json(interactionAnswer(await continueInteraction(deps, requesterOf(c), oidc, { uid, consent: approve ? 'approve' : 'deny', browserInteractions: browserInteractions(deps.keyring, getCookie(c, INTERACTION_COOKIE)) })), 200);
    },
  );

  router.use('/api/admin/oidc/*', requireSession());
  router.openapi(
    createRoute({
      method: 'get',
      path: '/api/admin/oidc/clients',
      tags: ['Administration'],
      summary: 'The registered OpenID Connect clients',
      responses: { 200: jsonContent(z.object({ clients: z.array(ClientSchema) }), 'The clients'), ...errorResponses },
    }),
    async (c) => c.json({ clients: await listClientsAsAdmin(deps, requesterOf(c)) }, 200),
  );
  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/admin/oidc/clients',
      tags: ['Administration'],
      summary: 'Register an OpenID Connect client; its secret is in this answer only',
      request: jsonBody(ClientInputSchema),
      responses: { 201: jsonContent(z.object({ client: ClientSchema, clientSecret: z.string().nullable() }), 'The client and its secret (shown once)'), ...errorResponses },
    }),
    async (c) => {
      const created = await createClientAsAdmin(deps, requesterOf(c), c.req.valid('json'));
      c.header('Cache-Control', 'no-store');
      return c.json(created, 201);
    },
  );
  router.openapi(
    createRoute({
      method: 'delete',
      path: '/api/admin/oidc/clients/{clientId}',
      tags: ['Administration'],
      summary: 'Delete a client; its grants and tokens end',
      request: { params: z.object({ clientId: z.string().min(1).max(100) }) },
      responses: { 204: { description: 'Deleted' }, ...errorResponses, 404: jsonContent(z.object({ error: z.object({ code: z.string(), message: z.string() }) }), 'No such client') },
    }),
    async (c) => {
      await deleteClientAsAdmin(deps, requesterOf(c), { clientId: c.req.valid('param').clientId });
      return c.body(null, 204);
    },
  );
  return router;
}
