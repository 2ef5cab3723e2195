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
 */
export function securityHeaders(): MiddlewareHandler {
  return async function securityHeadersMiddleware(c, next) {
    await next();
    const headers = c.res.headers;
    const csp = headers.get('Content-Security-Policy');
    if (!csp) headers.set('Content-Security-Policy', FRAME_ANCESTORS_NONE);
    else if (!/(^|;)\s*frame-ancestors\s/i.test(csp)) headers.set('Content-Security-Policy', `${csp}; ${FRAME_ANCESTORS_NONE}`);
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

/** The browser client's policy, for its pages and the API they call: no inline script, only our own origin. */
export function pageContentSecurityPolicy(): MiddlewareHandler {
  return async function pageContentSecurityPolicyMiddleware(c, next) {
    await next();
    c.res.headers.set('Content-Security-Policy', contentSecurityPolicy);
  };
}
