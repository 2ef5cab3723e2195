import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPOSITORY, spawnLatch } from './helpers/process.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'latch-build-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('production build: the compiled server runs on plain node', () => {
  it('npm run build → node dist/main.js migrates an embedded database, answers /healthz, /readyz and a page, and exits 0 on SIGTERM', async () => {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: REPOSITORY, stdio: 'pipe' });
    expect(existsSync(join(REPOSITORY, 'dist/main.js'))).toBe(true);

    const server = await spawnLatch({ compiled: true, env: { LATCH_DATA_DIR: dataDir } });
    try {
      expect(server.url).toMatch(/^http:\/\/localhost:\d+$/);
      const health = await fetch(`${server.url}/healthz`);
      expect(await health.json()).toEqual({ status: 'ok' });
      // The migrations came along in the bundle: the database is ready.
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      // public/ is found from dist/ as it was from src/.
      const page = await fetch(`${server.url}/signin`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  }, 180_000);
});
