import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { silentLogger } from '../src/logger.ts';
import { startServer } from '../src/server.ts';
import { createTestApp } from './helpers/app.ts';

/**
 * The threat: the content security policy a response gets depends on process-wide state rather
 * than on the app and route. The first `serve` in a process (@hono/node-server) puts its own
 * Response class in the global scope, and in 1.19 that class loses a header set on
 * `response.headers` once the response is re-wrapped (the request id is added with `c.header()`
 * after the handler answered): API, operations and docs answers went out with only
 * "frame-ancestors 'none'", on the real server always, and in-process for every app once anything
 * in the process had served (which is why http.hardening failed after an OIDC test file).
 */
const appBefore = await createTestApp();
const pagesPolicy = (await appBefore.app.request('/api/session')).headers.get('content-security-policy')!;

const dataDir = await mkdtemp(join(tmpdir(), 'latch-csp-'));
const server = await startServer(loadConfig({ PORT: '0', LATCH_DATA_DIR: dataDir, LATCH_LOG_LEVEL: 'silent' }), { logger: silentLogger });
afterAll(async () => {
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
});

const covered = ['/api/session', '/api/nope', '/healthz', '/readyz', '/openapi.json', '/api-docs', '/signin', '/'];

describe('the content security policy does not depend on what else the process has done', () => {
  it('the pages policy is the full one', () => {
    expect(pagesPolicy).toContain("script-src 'self'");
    expect(pagesPolicy).toContain("object-src 'none'");
    expect(pagesPolicy).toContain("frame-ancestors 'none'");
  });

  it('over HTTP, the API, operations and docs answers carry the pages policy, not just frame-ancestors', async () => {
    for (const path of covered) {
      const response = await fetch(`http://127.0.0.1:${server.port}${path}`);
      await response.arrayBuffer();
      expect(response.headers.get('content-security-policy'), path).toBe(pagesPolicy);
    }
  });

  it('an app built before the server started and one built after answer with the same policy', async () => {
    const appAfter = createApp({ db: appBefore.db, config: appBefore.config, keyring: appBefore.keyring, clock: appBefore.clock, logger: silentLogger });
    for (const app of [appBefore.app, appAfter]) {
      for (const path of covered) expect((await app.request(path)).headers.get('content-security-policy'), path).toBe(pagesPolicy);
    }
  });
});
