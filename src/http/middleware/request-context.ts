import { getConnInfo } from '@hono/node-server/conninfo';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.ts';
import type { Logger } from '../../logger.ts';
import type { AppEnv } from '../context.ts';

export interface RequestContextOptions {
  clock: Clock;
  logger: Logger;
  /** Only behind a proxy that sets X-Forwarded-For may that header name the client. */
  trustProxy: boolean;
  /** Told about every finished request (the metrics count them); never throws into the request. */
  onRequestEnd?: (request: FinishedRequest) => void;
}

export interface FinishedRequest {
  method: string;
  /** The pattern of the route that answered (`/api/factors/:id`), never the raw path: bounded, and no ids or tokens. */
  route: string;
  status: number;
  durationSeconds: number;
  errorCode: string | undefined;
  lockStarted: boolean;
}

/**
 * Gives every request an id, one "now", the client address and a logger bound to its id; logs
 * one line when it ends. The line carries the route pattern that answered (and the raw path only
 * when no route did: a path can carry a token, e.g. an enrollment link), never a query string,
 * header or body.
 */
export function requestContext(options: RequestContextOptions): MiddlewareHandler<AppEnv> {
  return async function requestContextMiddleware(c, next) {
    const requestId = randomUUID();
    c.set('requestId', requestId);
    c.set('now', options.clock.now());
    c.set('clientAddress', clientAddress(c, options.trustProxy));
    c.set('auth', null);
    const logger = options.logger.child({ requestId });
    c.set('logger', logger);
    // Debug only: shows what was in flight when a process stopped (and lets the shutdown test see it).
    logger.debug('request started', { method: c.req.method });
    const started = performance.now();
    await next();
    setResponseHeader(c, 'X-Request-Id', requestId);
    const seconds = (performance.now() - started) / 1000;
    const route = answeringRoute(c);
    logger.info('request', {
      method: c.req.method,
      route,
      ...(route === UNMATCHED ? { path: c.req.path.slice(0, 200) } : {}),
      status: c.res.status,
      ...(c.get('errorCode') ? { errorCode: c.get('errorCode') } : {}),
      durationMs: Math.round(seconds * 10_000) / 10,
    });
    try {
      options.onRequestEnd?.({
        method: c.req.method,
        route,
        status: c.res.status,
        durationSeconds: seconds,
        errorCode: c.get('errorCode'),
        lockStarted: c.get('lockStarted') === true,
      });
    } catch (error) {
      logger.warn('request observer failed', { errorName: (error as Error).name });
    }
  };
}

const UNMATCHED = '(unmatched)';

/**
 * Sets a header on the response already made. Not `c.header()`: on a finalized context Hono
 * rebuilds the response around its body as a stream, which turns @hono/node-server's cached
 * string response into a real Response plus a ReadableStream and sends it through the streaming
 * path (a fifth of the session check's CPU). The headers of the response made are mutable (the
 * security headers are set the same way); only a response with immutable headers falls back.
 */
export function setResponseHeader(c: Parameters<MiddlewareHandler<AppEnv>>[0], name: string, value: string): void {
  try {
    c.res.headers.set(name, value);
  } catch {
    c.header(name, value);
  }
}

/**
 * The route pattern whose handler answered: the last handler Hono dispatched. Catch-alls and
 * middleware ('*', '/api/*') that answered (a 404, a refusal before any route) count as unmatched.
 */
function answeringRoute(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string {
  let path: string;
  try {
    path = routePath(c);
  } catch {
    return UNMATCHED;
  }
  if (!path || path === '*' || path === '/*' || path === '/api/*') return UNMATCHED;
  return path;
}

function clientAddress(c: Parameters<MiddlewareHandler<AppEnv>>[0], trustProxy: boolean): string | null {
  if (trustProxy) {
    // The proxy appends the address it saw; anything to its left was written by the client.
    const forwarded = c.req.header('x-forwarded-for')?.split(',').map((part) => part.trim()).filter(Boolean);
    const nearest = forwarded?.at(-1);
    if (nearest) return nearest.slice(0, 64);
  }
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null; // no socket: a request made in-process (tests)
  }
}
