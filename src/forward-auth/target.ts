/**
 * The URL a proxy asks about, and whether Latch may send a browser back to it. Only http(s) URLs
 * on the configured domains (or their subdomains) are ever a redirect target: no open redirect.
 */

export interface ForwardedRequest {
  /** nginx: `proxy_set_header X-Original-URL $scheme://$http_host$request_uri;` */
  originalUrl: string | null;
  /** Traefik and Caddy: X-Forwarded-Proto, -Host and -Uri. */
  forwardedProto: string | null;
  forwardedHost: string | null;
  forwardedUri: string | null;
}

const MAX_URL_LENGTH = 4096;

/** The protected URL the proxy forwarded, or null when it named none (or nothing parseable). */
export function forwardedTarget(request: ForwardedRequest): URL | null {
  let text: string | null = null;
  if (request.originalUrl) text = request.originalUrl;
  else if (request.forwardedHost) {
    const proto = request.forwardedProto === 'http' ? 'http' : 'https';
    const uri = request.forwardedUri?.startsWith('/') ? request.forwardedUri : '/';
    text = `${proto}://${request.forwardedHost}${uri}`;
  }
  return parseTarget(text);
}

export function parseTarget(text: string | null | undefined): URL | null {
  if (!text || text.length > MAX_URL_LENGTH) return null;
  try {
    const url = new URL(text);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
    if (url.username || url.password) return null;
    return url;
  } catch {
    return null;
  }
}

/**
 * A URL Latch may send a browser to: http(s), on an allowed domain or one of its subdomains, and
 * plain http only where Latch itself is served over http (development).
 */
export function isAllowedTarget(url: URL, allowedDomains: readonly string[], allowHttp: boolean): boolean {
  if (url.protocol === 'http:' && !allowHttp) return false;
  const host = url.hostname.toLowerCase();
  return allowedDomains.some((domain) => host === domain || host.endsWith(`.${domain}`));
}
