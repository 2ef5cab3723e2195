import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/** The real `latch` binary (bin/latch.mjs) on an embedded data folder in a temporary directory. */
const bin = fileURLToPath(new URL('../../bin/latch.mjs', import.meta.url));
const dataDir = await mkdtemp(join(tmpdir(), 'latch-cli-'));
afterAll(() => rm(dataDir, { recursive: true, force: true }));

function run(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH, LATCH_DATA_DIR: dataDir, LATCH_ORIGINS: 'https://auth.example.com' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the latch process', () => {
  it('create-admin on a fresh embedded data folder prints the link on the configured origin and exits 0; usage errors exit 2', async () => {
    const created = await run('create-admin', 'root');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^Created user root\.$/m);
    expect(created.stdout).toMatch(/^ {2}https:\/\/auth\.example\.com\/enroll#token=[A-Za-z0-9_-]{43}$/m);

    const usage = await run('groups', 'set-policy', 'default', '--mode', 'sometimes');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('Allowed choices are optional, encouraged, required');
  }, 240_000);
});
