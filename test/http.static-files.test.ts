import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseEncoding, clientFileRoutes } from '../src/http/static-files.ts';

/** A public/ folder as scripts/build-client.mjs leaves it, with a source file that must stay private. */
const publicDir = mkdtempSync(join(tmpdir(), 'latch-public-'));
afterAll(() => rmSync(publicDir, { recursive: true, force: true }));
const script = `console.log(${JSON.stringify('x'.repeat(4000))});`;
mkdirSync(join(publicDir, 'build'));
mkdirSync(join(publicDir, 'src'));
writeFileSync(join(publicDir, 'index.html'), '<!doctype html><link rel="stylesheet" href="/styles.css"><script type="module" src="/build/signin.page.js"></script><img src="/logo.svg">');
writeFileSync(join(publicDir, 'account.html'), '<!doctype html><script type="module" src="/build/account.page.js"></script>');
writeFileSync(join(publicDir, 'styles.css'), `body { color: black; }\n${'/* padding */\n'.repeat(100)}`);
writeFileSync(join(publicDir, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"></svg>');
writeFileSync(join(publicDir, 'build', 'signin.page-AB12CD34.js'), script);
writeFileSync(join(publicDir, 'build', 'signin.page-AB12CD34.js.map'), '{"version":3}');
writeFileSync(join(publicDir, 'build', 'account.page-EF56GH78.js'), 'console.log(1);');
writeFileSync(join(publicDir, 'build', 'manifest.json'), JSON.stringify({ 'signin.page.js': 'signin.page-AB12CD34.js', 'account.page.js': 'account.page-EF56GH78.js' }));
writeFileSync(join(publicDir, 'src', 'api.ts'), 'export const secret = "source";');

const pages = { '/': 'index.html', '/account': 'account.html' };
const development = clientFileRoutes({ publicDir, pages, production: false });
const production = clientFileRoutes({ publicDir, pages, production: true });

describe('static files (issue 12, point 10)', () => {
  it('pages point at content-hashed scripts and stylesheet, and are revalidated', async () => {
    const response = await production.request('/');
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('src="/build/signin.page-AB12CD34.js"');
    expect(html).toMatch(/href="\/styles\.[0-9a-f]{12}\.css"/);
    expect(html).toContain('src="/logo.svg"');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
    expect(await (await production.request('/account')).text()).toContain('/build/account.page-EF56GH78.js');
    // Any other path is the sign-in page (the client's fallback).
    expect(await (await production.request('/some/client/route')).text()).toContain('/build/signin.page-AB12CD34.js');
  });

  it('hashed files are cached for a year; a matching ETag answers 304 with no body', async () => {
    const first = await production.request('/build/signin.page-AB12CD34.js');
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(first.headers.get('content-type')).toContain('text/javascript');
    const etag = first.headers.get('etag')!;
    const again = await production.request('/build/signin.page-AB12CD34.js', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    const css = (await (await production.request('/')).text()).match(/\/styles\.[0-9a-f]{12}\.css/)![0];
    expect((await production.request(css)).headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('compressed with brotli or gzip as the browser accepts, and decompresses to the file', async () => {
    const br = await production.request('/build/signin.page-AB12CD34.js', { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(br.headers.get('vary')).toBe('Accept-Encoding');
    const brBytes = Buffer.from(await br.arrayBuffer());
    expect(brBytes.length).toBeLessThan(script.length / 4);
    expect(brotliDecompressSync(brBytes).toString()).toBe(script);

    const gzip = await production.request('/build/signin.page-AB12CD34.js', { headers: { 'accept-encoding': 'gzip' } });
    expect(gzip.headers.get('content-encoding')).toBe('gzip');
    expect(gunzipSync(Buffer.from(await gzip.arrayBuffer())).toString()).toBe(script);

    const plain = await production.request('/build/signin.page-AB12CD34.js');
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await plain.text()).toBe(script);
  });

  it('the encoding choice honours q=0 and *', () => {
    expect(chooseEncoding('br;q=0, gzip')).toBe('gzip');
    expect(chooseEncoding('identity')).toBeNull();
    expect(chooseEncoding('*')).toBe('br');
    expect(chooseEncoding(undefined)).toBeNull();
  });

  it('no source maps in production; in development they are there', async () => {
    expect((await development.request('/build/signin.page-AB12CD34.js.map')).headers.get('content-type')).toContain('application/json');
    const map = await production.request('/build/signin.page-AB12CD34.js.map');
    expect(map.headers.get('content-type')).toContain('text/html'); // the sign-in page, not the map
    expect(await map.text()).not.toContain('"version"');
  });

  it('the client source and the manifest are never served', async () => {
    for (const path of ['/src/api.ts', '/build/manifest.json']) {
      const body = await (await development.request(path)).text();
      expect(body, path).not.toContain('secret');
      expect(body, path).not.toContain('AB12CD34.js"}');
    }
  });
});
