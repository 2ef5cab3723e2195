import { getCookie } from 'hono/cookie';
import type { MiddlewareHandler } from 'hono';
import type { Keyring } from '../../crypto/keyring.ts';
import type { Db } from '../../db/database.ts';
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

/** Resolves the session cookie to `c.var.auth` (or null). Never refuses: that is `requireSession`'s job. */
export function loadSession(options: LoadSessionOptions): MiddlewareHandler<AppEnv> {
  return async function loadSessionMiddleware(c, next) {
    // The routes that set or clear the cookie read its name and domain from here.
    c.set('sessionCookie', options.cookie);
    const token = getCookie(c, options.cookie.name);
    if (token && token.length <= 128) {
      c.set('auth', await lookUpSession(options.db, options.keyring, token, options.lifetimes, c.get('now')));
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
