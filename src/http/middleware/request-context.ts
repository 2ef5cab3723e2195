import { getConnInfo } from '@hono/node-server/conninfo';
import type { MiddlewareHandler } from 'hono';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.ts';
import type { Logger } from '../../logger.ts';
import type { AppEnv } from '../context.ts';

export interface RequestContextOptions {
  clock: Clock;
  logger: Logger;
  /** Only behind a proxy that sets X-Forwarded-For may that header name the client. */
  trustProxy: boolean;
}

/**
 * Gives every request an id, one "now", and the client address; logs one line when it ends.
 * The log line carries the path without its query string and never a header or body.
 */
export function requestContext(options: RequestContextOptions): MiddlewareHandler<AppEnv> {
  return async function requestContextMiddleware(c, next) {
    const requestId = randomUUID();
    c.set('requestId', requestId);
    c.set('now', options.clock.now());
    c.set('clientAddress', clientAddress(c, options.trustProxy));
    c.set('auth', null);
    const started = performance.now();
    await next();
    c.header('X-Request-Id', requestId);
    options.logger.info('request', {
      requestId,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
    });
  };
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
