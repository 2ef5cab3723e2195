import type { Context, MiddlewareHandler } from 'hono';
import type { Db } from '../../db/database.ts';
import { checkAndHitRateLimit, rateLimitKeys, retryAfterSeconds, type RateLimitHit, type RateLimitRule } from '../../rate-limits/rate-limits.ts';
import type { AppEnv } from '../context.ts';
import { errorResponse } from '../errors.ts';

export interface LimitByAddressOptions {
  db: Db;
  /** The counter's name, e.g. `passkey_signin_options`: each scope counts on its own. */
  scope: string;
  rule: RateLimitRule;
}

/**
 * Counts every request from the client address in the database (all instances share the count)
 * and answers 429 past the limit. Per address only: a per-account limit would let anyone lock a
 * user out by failing on their behalf, and a passkey cannot be guessed anyway.
 */
export function limitByAddress(options: LimitByAddressOptions): MiddlewareHandler<AppEnv> {
  return async function limitByAddressMiddleware(c, next) {
    const { key, rule } = addressLimit(c, options.scope, options.rule);
    const now = c.get('now');
    const { allowed, state } = await checkAndHitRateLimit(options.db, key, rule, now);
    if (!allowed) {
      return errorResponse(c, 'rate_limited', undefined, { retryAfterSeconds: retryAfterSeconds(state, now) });
    }
    return next();
  };
}

/** The same per-address limit, for a flow that counts it inside its own first statement (the passkey sign-in). */
export function addressLimit(c: Context<AppEnv>, scope: string, rule: RateLimitRule): RateLimitHit {
  return { key: rateLimitKeys.address(scope, c.get('clientAddress')), rule };
}
