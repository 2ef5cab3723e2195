import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startServer } from '../src/server.ts';

const key = () => randomBytes(32).toString('base64');

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('production does not run on the development keys kept beside the database', () => {
  it('NODE_ENV=production on the embedded database without keys is a configuration error naming the variables', () => {
    const [problem] = problemsOf({ NODE_ENV: 'production' });
    expect(problem).toMatch(/LATCH_ENCRYPTION_KEYS and LATCH_HMAC_KEY: must be set when NODE_ENV=production/);
    expect(problem).toContain('LATCH_ALLOW_DEVELOPMENT_KEYS=true');
  });

  it('with configured keys, or outside production, nothing changes', () => {
    expect(problemsOf({ NODE_ENV: 'production', LATCH_ENCRYPTION_KEYS: `k1:${key()}`, LATCH_HMAC_KEY: key() })).toEqual([]);
    expect(problemsOf({ NODE_ENV: 'development' })).toEqual([]);
    expect(problemsOf({})).toEqual([]);
  });

  it('the process exits with 78 and a message naming the variables, no stack trace', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'latch-prod-keys-'));
    try {
      const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: '0', LATCH_DATA_DIR: dataDir },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(result.status).toBe(78);
      expect(result.stderr).toContain('LATCH_ENCRYPTION_KEYS');
      expect(result.stderr).toContain('LATCH_HMAC_KEY');
      expect(result.stderr).toContain('LATCH_ALLOW_DEVELOPMENT_KEYS');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('LATCH_ALLOW_DEVELOPMENT_KEYS=true starts anyway, with a loud warning in the log', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'latch-prod-keys-'));
    const lines: Array<Record<string, unknown>> = [];
    try {
      const config = loadConfig({ NODE_ENV: 'production', LATCH_ALLOW_DEVELOPMENT_KEYS: 'true', PORT: '0', LATCH_DATA_DIR: dataDir });
      expect(config).toMatchObject({ production: true, allowDevelopmentKeys: true, keys: null });
      const server = await startServer(config, { logger: createLogger('warn', (line) => lines.push(JSON.parse(line))) });
      await server.close();
      const warning = lines.find((line) => line.message === 'RUNNING IN PRODUCTION WITH DEVELOPMENT KEYS');
      expect(warning).toMatchObject({ level: 'error', path: join(dataDir, 'development-keys.json') });
      expect(String(warning!.note)).toContain('LATCH_ENCRYPTION_KEYS');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
