import type { MiddlewareHandler } from 'hono';

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
 * content security policy is left to what answered (the pages' one, `pageContentSecurityPolicy`,
 * or a policy of a route's own, e.g. a form-post response with its inline auto-submit); this only
 * makes sure every policy forbids framing, and gives responses that have none just that.
 *
 * Headers are written with `c.header()`, never `c.res.headers.set()`: once a process has served
 * (@hono/node-server's `serve` puts its own Response class in the global scope, for every app the
 * process builds), a header set on `c.res.headers` is lost when a later middleware re-wraps the
 * response (`c.header()` after the handler answered does), as the pages' policy was under the
 * request id. `c.header()` re-wraps first, so what it writes stays.
 */
export function securityHeaders(): MiddlewareHandler {
  return async function securityHeadersMiddleware(c, next) {
    await next();
    const csp = c.res.headers.get('Content-Security-Policy');
    if (!csp) c.header('Content-Security-Policy', FRAME_ANCESTORS_NONE);
    else if (!/(^|;)\s*frame-ancestors\s/i.test(csp)) c.header('Content-Security-Policy', `${csp}; ${FRAME_ANCESTORS_NONE}`);
    c.header('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('X-Frame-Options', 'DENY');
    c.header('Cross-Origin-Opener-Policy', 'same-origin');
    c.header('Cross-Origin-Resource-Policy', 'same-origin');
    c.header('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
    if (c.req.path.startsWith('/api/')) c.header('Cache-Control', 'no-store');
  };
}

/** The browser client's policy, for its pages and the API they call: no inline script, only our own origin. */
export function pageContentSecurityPolicy(): MiddlewareHandler {
  return async function pageContentSecurityPolicyMiddleware(c, next) {
    await next();
    c.header('Content-Security-Policy', contentSecurityPolicy); // not c.res.headers: see securityHeaders
  };
}
