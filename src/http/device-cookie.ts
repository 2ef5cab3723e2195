import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Context } from 'hono';
import { REMEMBER_DEVICE_SECONDS } from '../factors/remembered-devices.ts';
import { HOST_COOKIE_OPTIONS } from './session-cookie.ts';

/** Its own `__Host-` cookie, apart from the session: signing out does not forget the browser. */
export const DEVICE_COOKIE = '__Host-latch_device';

export function setDeviceCookie(c: Context, token: string): void {
  setCookie(c, DEVICE_COOKIE, token, { ...HOST_COOKIE_OPTIONS, maxAge: REMEMBER_DEVICE_SECONDS });
}

export function readDeviceCookie(c: Context): string | null {
  const token = getCookie(c, DEVICE_COOKIE);
  return token && token.length <= 128 ? token : null;
}

export function clearDeviceCookie(c: Context): void {
  deleteCookie(c, DEVICE_COOKIE, HOST_COOKIE_OPTIONS);
}
