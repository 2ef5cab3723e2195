import { createRoute } from '@hono/zod-openapi';
import { checkForwardAuth, continueToApp } from '../../forward-auth/forward-auth.ts';
import { forwardedTarget, parseTarget } from '../../forward-auth/target.ts';
import { requesterOf, type AppDeps } from '../context.ts';
import { errorBody } from '../errors.ts';
import { createRouter, errorResponses, jsonBody, jsonContent, z } from '../router.ts';
import { wellFormedText } from '../schemas.ts';

const RemoteHeaders = {
  'Remote-User': { schema: { type: 'string' as const }, description: 'The username' },
  'Remote-Name': { schema: { type: 'string' as const }, description: 'The display name (UTF-8 bytes)' },
  'Remote-Email': { schema: { type: 'string' as const }, description: 'The confirmed email address, or empty' },
  'Remote-Groups': { schema: { type: 'string' as const }, description: 'Comma-separated group names' },
  'Remote-AAL': { schema: { type: 'string' as const }, description: '1 or 2' },
  'Remote-Phishing-Resistant': { schema: { type: 'string' as const }, description: 'true when the session was proven with a passkey that verified the user' },
  'Remote-Amr': { schema: { type: 'string' as const }, description: 'How the session was proven (comma-separated amr values)' },
};

/**
 * Forward-auth for reverse proxies. nginx (`auth_request`, which sends X-Original-URL) gets 401
 * with the sign-in URL in Location (nginx turns it into a redirect with `error_page 401`); Traefik
 * and Caddy (X-Forwarded-*) get the 302 themselves. See docs/forward-auth.md.
 */
export function forwardAuthRoutes(deps: AppDeps) {
  const router = createRouter();
  router.openapi(
    createRoute({
      method: 'get',
      path: '/api/forward-auth',
      tags: ['Forward-auth'],
      summary: 'May this browser reach the URL the proxy names? (nginx auth_request, Traefik ForwardAuth, Caddy forward_auth)',
      request: {
        headers: z.object({
          'x-original-url': z.string().optional().openapi({ description: 'nginx: $scheme://$http_host$request_uri' }),
          'x-forwarded-proto': z.string().optional(),
          'x-forwarded-host': z.string().optional(),
          'x-forwarded-uri': z.string().optional(),
        }),
      },
      responses: {
        200: { description: 'Signed in and allowed; the Remote-* headers say who', headers: RemoteHeaders },
        302: { description: 'Traefik/Caddy: not signed in, or a step-up is needed; Location is where to go' },
        401: { description: 'nginx: not signed in, or a step-up is needed; Location is where to send the browser' },
        403: jsonContent(z.object({ error: z.object({ code: z.string(), message: z.string() }) }), 'Signed in, but this user may not reach that URL'),
      },
    }),
    async (c) => {
      const originalUrl = c.req.header('x-original-url') ?? null;
      const target = forwardedTarget({
        originalUrl,
        forwardedProto: c.req.header('x-forwarded-proto') ?? null,
        forwardedHost: c.req.header('x-forwarded-host') ?? null,
        forwardedUri: c.req.header('x-forwarded-uri') ?? null,
      });
      const answer = await checkForwardAuth(deps, requesterOf(c), { target });
      // Never cached by the proxy or anything between: the answer is about this session, now.
      c.header('Cache-Control', 'no-store');
      if (answer.outcome === 'allow') {
        for (const [name, value] of Object.entries(answer.headers)) c.header(name, value);
        return c.body(null, 200);
      }
      if (answer.outcome === 'forbidden') return c.json(errorBody('forbidden', 'Your account is not allowed into this app.', { reason: 'not_in_group' }), 403);
      const nginx = originalUrl !== null;
      if (answer.location) c.header('Location', answer.location);
      if (nginx || !answer.location) return c.json(errorBody('unauthenticated', answer.outcome === 'step_up' ? 'Confirm it is you with a passkey to continue.' : undefined), 401);
      return c.body(null, 302);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/api/forward-auth/continue',
      tags: ['Forward-auth'],
      summary: 'After signing in (or a step-up), where to go back to: the protected app',
      request: jsonBody(z.object({ target: wellFormedText().min(1).max(4096) }).strict()),
      responses: {
        200: jsonContent(z.object({ location: z.string() }), 'The app URL to go to'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { target } = c.req.valid('json');
      return c.json(await continueToApp(deps, requesterOf(c), { target: parseTarget(target) }));
    },
  );
  return router;
}
