import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

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

describe('configuration', () => {
  it('has working defaults for the embedded development setup', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, origins: ['http://localhost:3000'], rpId: 'localhost', databaseUrl: null, dataDir: './data', keys: null, sessionIdleSeconds: 3600, sessionAbsoluteSeconds: 86400, trustProxy: false });
  });

  it('names the variable and the problem for each wrong value', () => {
    expect(problemsOf({ PORT: 'eighty' })).toEqual([expect.stringMatching(/^PORT: /)]);
    expect(problemsOf({ LATCH_ORIGINS: 'https://auth.example.com/login' })[0]).toMatch(/^LATCH_ORIGINS: .*origins/);
    expect(problemsOf({ LATCH_ORIGINS: 'https://auth.example.com', LATCH_RP_ID: 'other.org' })[0]).toMatch(/^LATCH_RP_ID: .*parent domain/);
    expect(problemsOf({ DATABASE_URL: 'mysql://x' })[0]).toMatch(/^DATABASE_URL: /);
    expect(problemsOf({ LATCH_SESSION_IDLE_SECONDS: '-5' })[0]).toMatch(/^LATCH_SESSION_IDLE_SECONDS: /);
    expect(problemsOf({ LATCH_TRUST_PROXY: 'maybe' })[0]).toMatch(/^LATCH_TRUST_PROXY: /);
  });

  it('refuses production (DATABASE_URL) without keys instead of inventing some', () => {
    expect(problemsOf({ DATABASE_URL: 'postgres://db/latch' })[0]).toMatch(/LATCH_ENCRYPTION_KEYS and LATCH_HMAC_KEY: must be set/);
  });

  it('refuses keys of the wrong size and an active key id that is not listed', () => {
    expect(problemsOf({ LATCH_ENCRYPTION_KEYS: `k1:${randomBytes(16).toString('base64')}`, LATCH_HMAC_KEY: key() })[0]).toMatch(/^LATCH_ENCRYPTION_KEYS: .*32 bytes/);
    expect(problemsOf({ LATCH_ENCRYPTION_KEYS: `k1:${key()}`, LATCH_HMAC_KEY: key(), LATCH_ACTIVE_KEY_ID: 'k9' })[0]).toMatch(/^LATCH_ACTIVE_KEY_ID: /);
  });

  it('reads several encryption keys and seals with the last one unless told otherwise', () => {
    const config = loadConfig({ LATCH_ENCRYPTION_KEYS: `old:${key()},new:${key()}`, LATCH_HMAC_KEY: key(), DATABASE_URL: 'postgres://db/latch' });
    expect(config.keys?.activeKeyId).toBe('new');
    expect([...config.keys!.encryptionKeys.keys()]).toEqual(['old', 'new']);
  });

  it('a wrong value stops the process with the variable named and no stack trace', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH, PORT: 'not-a-port', LATCH_DATA_DIR: '/tmp/latch-config-test' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('PORT:');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
