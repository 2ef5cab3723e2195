import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import { Hono, type Context } from 'hono';
import type { AppEnv } from './context.ts';

/**
 * The browser client's files, served from memory: compressed once (brotli and gzip), each with an
 * ETag so a browser revalidates instead of downloading again. Scripts and the stylesheet are
 * referenced by content-hashed names (`/build/signin.page-3F7A….js`, `/styles.9c1e….css`), which
 * never change meaning and so are cached for a year; the pages themselves are rewritten to point
 * at the current names and always revalidated. Source maps are not served in production, and
 * nothing outside the client's own file types is served at all (public/src stays private).
 */

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.map']);
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

interface Asset {
  body: Uint8Array;
  br: Uint8Array | null;
  gzip: Uint8Array | null;
  type: string;
  etag: string;
  cacheControl: string;
}

function hashOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function asset(body: Uint8Array, extension: string, cacheControl: string): Asset {
  const compressible = COMPRESSIBLE.has(extension) && body.length > 512;
  return {
    body,
    br: compressible ? brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: body.length } }) : null,
    gzip: compressible ? gzipSync(body, { level: 9 }) : null,
    type: TYPES[extension] ?? 'application/octet-stream',
    etag: `"${hashOf(body).slice(0, 32)}"`,
    cacheControl,
  };
}

export interface ClientFilesOptions {
  publicDir: string;
  /** Clean paths of the pages ('/account' → 'account.html'); '/' and unknown paths get index.html. */
  pages: Record<string, string>;
  /** No source maps; files are read once. */
  production: boolean;
}

/** Everything served, by URL path, plus the pages by file name. */
interface ClientFiles {
  byPath: Map<string, Asset>;
  pages: Map<string, Asset>;
}

/** Reads public/ (and the build's manifest.json, written by scripts/build-client.mjs) into memory. */
export function loadClientFiles(options: Pick<ClientFilesOptions, 'publicDir' | 'production'>): ClientFiles {
  const { publicDir, production } = options;
  const byPath = new Map<string, Asset>();
  const renames = new Map<string, string>();

  // Scripts: esbuild already named them by content ([name]-[hash]); the manifest maps the plain names.
  const buildDir = join(publicDir, 'build');
  const manifestPath = join(buildDir, 'manifest.json');
  const manifest: Record<string, string> = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : {};
  for (const [plain, hashed] of Object.entries(manifest)) renames.set(`/build/${plain}`, `/build/${hashed}`);
  if (existsSync(buildDir)) {
    for (const name of readdirSync(buildDir)) {
      const extension = extname(name);
      if (extension === '.map' && production) continue;
      if (extension !== '.js' && extension !== '.map') continue;
      const hashed = Object.values(manifest).includes(name);
      byPath.set(`/build/${name}`, asset(readFileSync(join(buildDir, name)), extension, hashed ? IMMUTABLE : REVALIDATE));
    }
  }

  // Top-level files: the stylesheet gets a content-hashed name too; images are revalidated.
  for (const name of readdirSync(publicDir)) {
    const extension = extname(name);
    if (extension === '.html' || !TYPES[extension] || extension === '.map' || extension === '.js') continue;
    const path = join(publicDir, name);
    if (!statSync(path).isFile()) continue;
    const body = readFileSync(path);
    byPath.set(`/${name}`, asset(body, extension, REVALIDATE));
    if (extension === '.css') {
      const hashedPath = `/${name.slice(0, -extension.length)}.${hashOf(body).slice(0, 12)}${extension}`;
      byPath.set(hashedPath, asset(body, extension, IMMUTABLE));
      renames.set(`/${name}`, hashedPath);
    }
  }

  // Pages: point their src/href at the hashed names.
  const pages = new Map<string, Asset>();
  for (const name of readdirSync(publicDir).filter((file) => file.endsWith('.html'))) {
    let html = readFileSync(join(publicDir, name), 'utf8');
    html = html.replace(/(src|href)="(\/[^"]+)"/g, (whole, attribute: string, path: string) => {
      const renamed = renames.get(path);
      return renamed ? `${attribute}="${renamed}"` : whole;
    });
    pages.set(name, asset(Buffer.from(html, 'utf8'), '.html', REVALIDATE));
  }
  return { byPath, pages };
}

/** "br" or "gzip" if the client takes it (and it is not refused with q=0), else null. */
export function chooseEncoding(acceptEncoding: string | undefined): 'br' | 'gzip' | null {
  if (!acceptEncoding) return null;
  const accepted = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [token, ...parameters] = part.trim().toLowerCase().split(';');
    if (!token) continue;
    const q = parameters.map((parameter) => parameter.trim()).find((parameter) => parameter.startsWith('q='));
    accepted.set(token, q ? Number(q.slice(2)) || 0 : 1);
  }
  const weight = (name: string) => accepted.get(name) ?? (accepted.has('*') ? accepted.get('*')! : 0);
  if (weight('br') > 0) return 'br';
  if (weight('gzip') > 0) return 'gzip';
  return null;
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed === etag || trimmed === `W/${etag}`;
  });
}

function send(c: Context<AppEnv>, file: Asset): Response {
  const headers = new Headers({
    'content-type': file.type,
    'cache-control': file.cacheControl,
    etag: file.etag,
    vary: 'Accept-Encoding',
  });
  if (etagMatches(c.req.header('if-none-match'), file.etag)) return new Response(null, { status: 304, headers });
  const encoding = chooseEncoding(c.req.header('accept-encoding'));
  let body = file.body;
  if (encoding === 'br' && file.br) {
    body = file.br;
    headers.set('content-encoding', 'br');
  } else if (encoding && file.gzip) {
    body = file.gzip;
    headers.set('content-encoding', 'gzip');
  }
  headers.set('content-length', String(body.length));
  // A Node Buffer is a Uint8Array, which Response takes as it is.
  return new Response(c.req.method === 'HEAD' ? null : (body as Uint8Array<ArrayBuffer>), { status: 200, headers });
}

/** The client's routes: files by path, pages by their clean paths, index.html for any other GET. */
export function clientFileRoutes(options: ClientFilesOptions) {
  let loaded: ClientFiles | null = null;
  let loadedFrom = '';
  /** Read on first use (tests that never ask for a page never pay for compression); in development, again after a rebuild. */
  const files = (): ClientFiles => {
    const stamp = options.production ? 'once' : buildStamp(options.publicDir);
    if (!loaded || stamp !== loadedFrom) {
      loaded = loadClientFiles(options);
      loadedFrom = stamp;
    }
    return loaded;
  };
  const routes = new Hono<AppEnv>();
  routes.get('/*', (c) => {
    const current = files();
    const file = current.byPath.get(c.req.path);
    if (file) return send(c, file);
    const page = current.pages.get(options.pages[c.req.path] ?? 'index.html');
    if (!page) return c.notFound();
    return send(c, page);
  });
  return routes;
}

/** Changes whenever the build or a top-level file is rewritten (development only). */
function buildStamp(publicDir: string): string {
  const stamps: number[] = [];
  for (const dir of [publicDir, join(publicDir, 'build')]) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) stamps.push(statSync(join(dir, name)).mtimeMs);
  }
  return stamps.join(',');
}
