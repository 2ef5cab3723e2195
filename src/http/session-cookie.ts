import { deleteCookie, setCookie } from 'hono/cookie';
import type { Context } from 'hono';

/**
 * The attributes every Latch cookie carries. With a `__Host-` name the browser only accepts them
 * Secure, for Path=/ and without Domain — no subdomain can set or read the cookie.
 */
export const HOST_COOKIE_OPTIONS = { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' } as const;

export const SESSION_COOKIE = '__Host-latch_session';

export function setSessionCookie(c: Context, token: string, expiresAt: Date, now: Date): void {
  setCookie(c, SESSION_COOKIE, token, {
    ...HOST_COOKIE_OPTIONS,
    maxAge: Math.max(0, Math.floor((expiresAt.getTime() - now.getTime()) / 1000)),
  });
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, HOST_COOKIE_OPTIONS);
}

/** A session a flow established or rotated: its token becomes this browser's cookie. */
export function setEstablishedSession(c: Context, established: { session: { absolute_expires_at: Date }; token: string }, now: Date): void {
  setSessionCookie(c, established.token, established.session.absolute_expires_at, now);
}
