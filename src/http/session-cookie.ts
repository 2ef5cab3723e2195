import { deleteCookie, setCookie } from 'hono/cookie';
import type { Context } from 'hono';

/** `__Host-`: the browser only accepts it Secure, for Path=/ and without Domain — no subdomain can set or read it. */
export const SESSION_COOKIE = '__Host-latch_session';

export function setSessionCookie(c: Context, token: string, expiresAt: Date, now: Date): void {
  setCookie(c, SESSION_COOKIE, token, {
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'Lax',
    maxAge: Math.max(0, Math.floor((expiresAt.getTime() - now.getTime()) / 1000)),
  });
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' });
}
