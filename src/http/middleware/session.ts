import { getCookie } from 'hono/cookie';
import type { MiddlewareHandler } from 'hono';
import type { Keyring } from '../../crypto/keyring.ts';
import type { Db } from '../../db/database.ts';
import { restrictedSessionMayUse } from '../../policy/rollout.ts';
import { lookUpSession, type SessionLifetimes } from '../../sessions/sessions.ts';
import type { AppEnv } from '../context.ts';
import { errorResponse } from '../errors.ts';
import type { SessionCookieSettings } from '../session-cookie.ts';

export interface LoadSessionOptions {
  db: Db;
  keyring: Keyring;
  lifetimes: SessionLifetimes;
  cookie: SessionCookieSettings;
}

/**
 * Resolves the session cookie to `c.var.auth` (or null). Refuses only one thing, here so that no
 * route can forget it: a restricted session (the passkey rollout's deadline passed) reaching
 * anything but what src/policy/rollout.ts `restrictedSessionMayUse` lists answers 403
 * `passkey_required`. Everything else is `requireSession`'s and the routes' job.
 */
export function loadSession(options: LoadSessionOptions): MiddlewareHandler<AppEnv> {
  return async function loadSessionMiddleware(c, next) {
    // The routes that set or clear the cookie read its name and domain from here.
    c.set('sessionCookie', options.cookie);
    const token = getCookie(c, options.cookie.name);
    if (token && token.length <= 128) {
      const auth = await lookUpSession(options.db, options.keyring, token, options.lifetimes, c.get('now'));
      c.set('auth', auth);
      if (auth?.session.restricted_reason && !restrictedSessionMayUse(c.req.method, c.req.path)) {
        return errorResponse(c, 'passkey_required', undefined, { since: auth.session.rollout_deadline?.toISOString() ?? null });
      }
    }
    return next();
  };
}

/** 401 unless the request carries a live session. */
export function requireSession(): MiddlewareHandler<AppEnv> {
  return async function requireSessionMiddleware(c, next) {
    if (!c.get('auth')) return errorResponse(c, 'unauthenticated');
    return next();
  };
}

/** The signed-in session and user; only call behind `requireSession`. */
export function authOf(c: Parameters<MiddlewareHandler<AppEnv>>[0]) {
  const auth = c.get('auth');
  if (!auth) throw new Error('authOf called on a route without requireSession');
  return auth;
}
