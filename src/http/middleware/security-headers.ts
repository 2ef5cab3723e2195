import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';

const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const FRAME_ANCESTORS_NONE = "frame-ancestors 'none'";

/**
 * Strict headers on every response, errors included: no framing, no sniffing, HTTPS only. The
 * content security policy is the pages' one where `pageContentSecurityPolicy` asked for it, else
 * what answered (a policy of a route's own, e.g. a form-post response with its inline
 * auto-submit), made sure to forbid framing; a response with none gets just that.
 *
 * Every header is written here, by the outermost middleware, after everything inside has run:
 * once a process has served, its responses are @hono/node-server's own Response class (its
 * `serve` puts it in the global scope, for every app the process builds), and a header set on
 * such a response's headers is lost when something later re-wraps it (`c.header()` after the
 * handler answered does). The pages' policy, written by an inner middleware, was lost that way
 * under the request id. Setting headers on the response made (not `c.header()`) re-wraps nothing.
 */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async function securityHeadersMiddleware(c, next) {
    await next();
    const headers = c.res.headers;
    const own = headers.get('Content-Security-Policy');
    const csp = c.get('pageContentSecurityPolicy') ? contentSecurityPolicy : forbidFraming(own);
    if (csp !== own) headers.set('Content-Security-Policy', csp);
    headers.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    headers.set('X-Content-Type-Options', 'nosniff');
    headers.set('Referrer-Policy', 'no-referrer');
    headers.set('X-Frame-Options', 'DENY');
    headers.set('Cross-Origin-Opener-Policy', 'same-origin');
    headers.set('Cross-Origin-Resource-Policy', 'same-origin');
    headers.set('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
    if (c.req.path.startsWith('/api/')) headers.set('Cache-Control', 'no-store');
  };
}

function forbidFraming(policy: string | null): string {
  if (!policy) return FRAME_ANCESTORS_NONE;
  return /(^|;)\s*frame-ancestors\s/i.test(policy) ? policy : `${policy}; ${FRAME_ANCESTORS_NONE}`;
}

/**
 * The browser client's policy, for its pages and the API they call: no inline script, only our
 * own origin. Asked for here, written by `securityHeaders` on the way out.
 */
export function pageContentSecurityPolicy(): MiddlewareHandler<AppEnv> {
  return async function pageContentSecurityPolicyMiddleware(c, next) {
    c.set('pageContentSecurityPolicy', true);
    await next();
  };
}
