import { deleteCookie, setCookie } from 'hono/cookie';
import type { Context } from 'hono';
import type { Config } from '../config.ts';

/**
 * The attributes every Latch cookie carries. With a `__Host-` name the browser only accepts them
 * Secure, for Path=/ and without Domain — no subdomain can set or read the cookie.
 */
export const HOST_COOKIE_OPTIONS = { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' } as const;

export const SESSION_COOKIE = '__Host-latch_session';
/** The session cookie when it is shared with a parent domain's subdomains (forward-auth). */
export const SHARED_SESSION_COOKIE = '__Secure-latch_session';

export interface SessionCookieSettings {
  name: string;
  options: { path: '/'; secure: true; httpOnly: true; sameSite: 'Lax'; domain?: string };
}

/**
 * `__Host-latch_session` by default. With LATCH_COOKIE_DOMAIN, `__Secure-latch_session` on that
 * domain, so the protected apps' subdomains send it to forward-auth — and so every one of those
 * subdomains receives it too: the trade-off the README's "Protecting your apps" describes.
 */
export function sessionCookieSettings(config: Pick<Config, 'cookieDomain'>): SessionCookieSettings {
  return config.cookieDomain
    ? { name: SHARED_SESSION_COOKIE, options: { ...HOST_COOKIE_OPTIONS, domain: config.cookieDomain } }
    : { name: SESSION_COOKIE, options: HOST_COOKIE_OPTIONS };
}

const DEFAULT_SETTINGS: SessionCookieSettings = { name: SESSION_COOKIE, options: HOST_COOKIE_OPTIONS };

/** The settings the session loader put on this request (the app's configuration). */
function settingsOf(c: Context): SessionCookieSettings {
  return (c.get('sessionCookie') as SessionCookieSettings | undefined) ?? DEFAULT_SETTINGS;
}

export function setSessionCookie(c: Context, token: string, expiresAt: Date, now: Date): void {
  const { name, options } = settingsOf(c);
  setCookie(c, name, token, {
    ...options,
    maxAge: Math.max(0, Math.floor((expiresAt.getTime() - now.getTime()) / 1000)),
  });
}

export function clearSessionCookie(c: Context): void {
  const { name, options } = settingsOf(c);
  deleteCookie(c, name, options);
}

/** A session a flow established or rotated: its token becomes this browser's cookie. */
export function setEstablishedSession(c: Context, established: { session: { absolute_expires_at: Date }; token: string }, now: Date): void {
  setSessionCookie(c, established.token, established.session.absolute_expires_at, now);
}
