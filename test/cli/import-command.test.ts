import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { importCommand } from '../../src/cli/import-command.ts';
import { createFlows } from '../auth/helpers.ts';
import { base32, importFootprint } from '../import/helpers.ts';

const f = await createFlows();
const dir = mkdtempSync(join(tmpdir(), 'latch-import-'));

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

async function latchImport(...args: string[]) {
  const stdout = new Capture();
  const stderr = new Capture();
  let exitCode = 0;
  const command = importCommand(async () => ({ deps: f.deps, close: async () => {} }), { stdout, stderr, now: () => f.t.clock.now(), setExitCode: (code) => (exitCode = code) });
  command.exitOverride().configureOutput({ writeOut: (text) => stdout.write(text), writeErr: (text) => stderr.write(text) });
  await command.parseAsync(args, { from: 'user' });
  return { stdout: stdout.text, stderr: stderr.text, exitCode };
}

describe('latch import (the command, against the test database)', () => {
  const secret = base32(randomBytes(20));
  const file = join(dir, 'users.jsonl');
  writeFileSync(
    file,
    [
      JSON.stringify({ username: 'cli-one', totp: { secret } }),
      '{not json',
      JSON.stringify({ username: 'cli-two', email: 'two@example.org' }),
    ].join('\n'),
  );

  it('imports, reports the bad line on stderr, writes the link to --links only, and exits non-zero', async () => {
    const links = join(dir, 'links.tsv');
    const run = await latchImport(file, '--links', links, '--group', 'Pilot', '--link-ttl-hours', '48');
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe('line 2: not valid JSON\n');
    expect(run.stdout).toContain('imported 2, updated 0, skipped 0, failed 1');
    expect(run.stdout).toContain(`1 users without a second factor: their single-use enrollment links are in ${links}`);
    const written = readFileSync(links, 'utf8');
    expect(written).toMatch(/^cli-two\thttp:\/\/localhost:3000\/enroll#token=[A-Za-z0-9_-]{43}\n$/);
    expect(statSync(links).mode & 0o777).toBe(0o600);
    const token = written.split('token=')[1]!.trim();
    // Neither the link nor the secret reaches the output (which is what ends up in logs).
    for (const needle of [token, secret]) expect(run.stdout + run.stderr).not.toContain(needle);
    const link = await f.deps.db.selectFrom('enrollment_links').innerJoin('users', 'users.id', 'enrollment_links.user_id').select(['enrollment_links.expires_at', 'enrollment_links.created_at']).where('users.username', '=', 'cli-two').executeTakeFirstOrThrow();
    expect(link.expires_at.getTime() - link.created_at.getTime()).toBe(48 * 3600 * 1000);
  });

  it('a second run changes nothing and says so', async () => {
    const footprint = await importFootprint(f);
    const run = await latchImport(file, '--links', join(dir, 'links-again.tsv'), '--group', 'pilot');
    expect(run.stdout).toContain('imported 0, updated 0, skipped 2, failed 1');
    expect(await importFootprint(f)).toEqual(footprint);
    expect(readFileSync(join(dir, 'links-again.tsv'), 'utf8')).toBe('');
  });

  it('--dry-run writes nothing, not even the links file', async () => {
    const dry = join(dir, 'dry.jsonl');
    writeFileSync(dry, JSON.stringify({ username: 'cli-dry' }) + '\n');
    const footprint = await importFootprint(f);
    const run = await latchImport(dry, '--dry-run', '--links', join(dir, 'dry-links.tsv'));
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('Dry run: nothing was written. would be imported 1');
    expect(existsSync(join(dir, 'dry-links.tsv'))).toBe(false);
    expect(await importFootprint(f)).toEqual(footprint);
  });

  it('authelia by file name, with its TOTP export; refuses --totp-export for other formats and unknown formats', async () => {
    const fixtures = new URL('../fixtures/import/', import.meta.url).pathname;
    const run = await latchImport(join(fixtures, 'authelia-users_database.yml'), '--totp-export', join(fixtures, 'authelia-totp.uris'));
    expect(run.stdout).toContain('imported 4, updated 0, skipped 0, failed 1');
    expect(run.stdout).toContain('1 users without a second factor got no enrollment link (pass --links FILE)');
    expect(run.exitCode).toBe(1);
    await expect(latchImport(file, '--totp-export', join(fixtures, 'authelia-totp.csv'))).rejects.toThrow(/--totp-export goes with --format authelia/);
    await expect(latchImport(file, '--format', 'ldif')).rejects.toMatchObject({ code: 'commander.invalidArgument' });
  });

  it('prints plain progress lines when not on a terminal', async () => {
    const many = join(dir, 'many.jsonl');
    writeFileSync(many, Array.from({ length: 3 }, (_, i) => JSON.stringify({ username: `cli-many-${i}`, totp: { secret: base32(randomBytes(20)) } })).join('\n'));
    const run = await latchImport(many);
    expect(run.stdout).toMatch(/^progress 100%: imported 3, updated 0, skipped 0, failed 0$/m);
  });
});
