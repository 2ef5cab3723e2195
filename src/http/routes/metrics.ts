import { Hono } from 'hono';
import { bearerTokenMatches, type Metrics } from '../../metrics/metrics.ts';
import type { AppEnv } from '../context.ts';
import { errorResponse } from '../errors.ts';

/**
 * `GET /metrics` in the Prometheus text format, behind a bearer token (LATCH_METRICS_TOKEN,
 * compared in constant time). Off (404, like any unknown path) unless LATCH_METRICS=true. Not in
 * /openapi.json: it is for the operator's scraper, not for clients.
 */
export function metricsRoutes(metrics: Metrics | null, token: string | null) {
  const router = new Hono<AppEnv>();
  router.get('/metrics', async (c) => {
    if (!metrics || !token) return errorResponse(c, 'not_found');
    if (!bearerTokenMatches(c.req.header('authorization'), token)) {
      c.header('WWW-Authenticate', 'Bearer realm="metrics"');
      return errorResponse(c, 'unauthenticated', 'GET /metrics needs the metrics bearer token.');
    }
    c.header('Cache-Control', 'no-store');
    return c.body(await metrics.render(), 200, { 'Content-Type': metrics.registry.contentType });
  });
  return router;
}
