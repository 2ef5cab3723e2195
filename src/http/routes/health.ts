import { createRoute } from '@hono/zod-openapi';
import { isDatabaseReady } from '../../db/database.ts';
import type { AppDeps } from '../context.ts';
import { errorResponse } from '../errors.ts';
import { createRouter, jsonContent, z } from '../router.ts';

export function healthRoutes(deps: AppDeps) {
  const router = createRouter();
  router.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      tags: ['Operations'],
      summary: 'The process is up',
      responses: { 200: jsonContent(z.object({ status: z.literal('ok') }), 'Up') },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );
  router.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      tags: ['Operations'],
      summary: 'The database answers',
      responses: {
        200: jsonContent(z.object({ status: z.literal('ready') }), 'Ready'),
        503: jsonContent(z.any(), 'Not ready'),
      },
    }),
    async (c) => {
      if (!(await isDatabaseReady(deps.db))) return errorResponse(c, 'service_unavailable') as never;
      return c.json({ status: 'ready' as const }, 200);
    },
  );
  return router;
}
