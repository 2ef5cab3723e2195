import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';
import { errorResponse } from '../errors.ts';

export interface SameOriginJsonOptions {
  /** Origins allowed to make state-changing requests. */
  origins: readonly string[];
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * State-changing requests must be same-origin JSON. A cross-site form can send text/plain or a
 * form encoding without a preflight, so only application/json is accepted; and the browser's
 * Origin / Sec-Fetch-Site headers must say the request came from one of our origins. A request
 * carrying neither header is refused too: browsers send them, and a refusal costs other clients
 * only an Origin header.
 */
export function sameOriginJson(options: SameOriginJsonOptions): MiddlewareHandler<AppEnv> {
  const allowed = new Set(options.origins);
  return async function sameOriginJsonMiddleware(c, next) {
    if (SAFE_METHODS.has(c.req.method)) return next();

    const fetchSite = c.req.header('sec-fetch-site');
    const origin = c.req.header('origin');
    if (fetchSite !== undefined && fetchSite !== 'same-origin') return errorResponse(c, 'csrf_rejected');
    if (origin !== undefined && !allowed.has(origin)) return errorResponse(c, 'csrf_rejected');
    if (origin === undefined && fetchSite === undefined) return errorResponse(c, 'csrf_rejected');

    const contentType = c.req.header('content-type');
    const hasBody = c.req.header('content-length') !== undefined && c.req.header('content-length') !== '0';
    const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
    if ((contentType !== undefined || hasBody || c.req.method !== 'DELETE') && mediaType !== 'application/json') {
      return errorResponse(c, 'csrf_rejected', 'State-changing requests must be application/json.');
    }
    return next();
  };
}
