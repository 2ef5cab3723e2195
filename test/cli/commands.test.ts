import { describe, expect, it } from 'vitest';
import type { CliContext } from '../../src/cli/context.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, runCli } from '../../src/cli/program.ts';
import { findUsableEnrollmentLink } from '../../src/enrollment/links.ts';
import { auditRows, createFlows, signUpPasskeyUser, signUpTotpUser, uniqueUsername } from '../auth/helpers.ts';

/** The `latch` commands run in-process against the test database (the same code bin/latch.mjs runs). */
const f = await createFlows();

async function latch(...argv: string[]) {
  const lines: string[] = [];
  let stderr = '';
  const context: CliContext = { deps: f.deps, clock: f.t.clock, out: (line) => lines.push(line) };
  const code = await runCli(argv, { withContext: (work) => work(context), out: (text) => lines.push(text), err: (text) => (stderr += text) });
  return { code, stdout: lines.join('\n'), stderr };
}

describe('latch create-admin', () => {
  it('creates the user, prints a single-use link valid 24 h (only its hash stored), audited without the token', async () => {
    const username = uniqueUsername('boss');
    const result = await latch('create-admin', username);
    expect(result).toMatchObject({ code: EXIT_OK, stderr: '' });
    const token = /\/enroll#token=([A-Za-z0-9_-]{43})/.exec(result.stdout)?.[1];
    expect(token).toBeDefined();
    const link = await findUsableEnrollmentLink(f.t.db, f.t.keyring, token!, f.t.clock.now());
    expect(link).toMatchObject({ purpose: 'admin', created_by: null });
    expect(link!.expires_at.getTime() - f.t.clock.now().getTime()).toBe(24 * 3600 * 1000);
    const user = await f.t.db.selectFrom('users').selectAll().where('id', '=', link!.user_id).executeTakeFirstOrThrow();
    expect(user).toMatchObject({ username, is_admin: false });
    const audit = await auditRows(f, 'enrollment_link.create', user.id);
    expect(audit.map((row) => [row.actor_user_id, row.user_agent, row.details.purpose, row.details.via])).toEqual([[null, 'latch-cli', 'admin', 'cli']]);
    expect(JSON.stringify(await f.t.db.selectFrom('audit_events').selectAll().execute())).not.toContain(token!);

    // A second link for the same person replaces the first.
    const again = await latch('create-admin', username);
    expect(again.stdout).toContain(`User ${username} exists.`);
    expect(await findUsableEnrollmentLink(f.t.db, f.t.keyring, token!, f.t.clock.now())).toBeNull();
  });

  it('refuses a new username mixing scripts (exit 1, a message, no stack)', async () => {
    const result = await latch('create-admin', 'p\u0430ypal');
    expect(result.code).toBe(EXIT_FAILURE);
    expect(result.stderr).toMatch(/^latch: "pаypal" is not a valid username/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('latch promote / demote', () => {
  it('changes the role, audited, and never demotes the last administrator', async () => {
    await f.t.db.updateTable('users').set({ is_admin: false }).execute();
    const user = await signUpPasskeyUser(f);
    expect((await latch('promote', user.username)).stdout).toBe(`${user.username} is now an administrator.`);
    const refused = await latch('demote', user.username);
    expect(refused).toMatchObject({ code: EXIT_FAILURE, stderr: expect.stringContaining('last administrator') });
    const other = await signUpPasskeyUser(f);
    await latch('promote', other.username);
    expect(await latch('demote', user.username)).toMatchObject({ code: EXIT_OK, stdout: `${user.username} is now a member.` });
    expect((await auditRows(f, 'user.promote', user.user.id)).map((row) => row.details.via)).toEqual(['cli']);
    expect((await auditRows(f, 'user.demote', user.user.id)).map((row) => row.outcome)).toEqual(['denied', 'success']);
    expect(await latch('promote', 'nobody-here')).toMatchObject({ code: EXIT_FAILURE, stderr: 'latch: No user named "nobody-here".\n' });
  });
});

describe('latch groups and stats', () => {
  it('create, set-policy, add, remove, list; stats per group as text and JSON', async () => {
    const name = uniqueUsername('ops');
    const passkeyUser = await signUpPasskeyUser(f);
    const totpUser = await signUpTotpUser(f);
    expect((await latch('groups', 'create', name)).code).toBe(EXIT_OK);
    expect((await latch('groups', 'create', name)).stderr).toContain('exists already');
    expect((await latch('groups', 'set-policy', name, '--mode', 'required')).stderr).toContain('needs a deadline');
    expect((await latch('groups', 'set-policy', name, '--mode', 'required', '--deadline', 'soon')).code).toBe(EXIT_FAILURE);
    expect((await latch('groups', 'set-policy', name, '--mode', 'sometimes')).code).toBe(EXIT_USAGE);
    expect(
      (await latch('groups', 'set-policy', name, '--mode', 'required', '--deadline', '2027-03-01T09:00:00Z', '--invite-again-days', '3', '--retire-totp-after', '5')).code,
    ).toBe(EXIT_OK);
    expect((await latch('groups', 'add', name, passkeyUser.username, 'no-such-user')).code).toBe(EXIT_FAILURE);
    expect((await latch('groups', 'add', name, passkeyUser.username, totpUser.username)).stdout).toBe(`Added 2 to ${name}.`);
    expect((await latch('groups', 'remove', name, totpUser.username)).stdout).toBe(`Removed 1 from ${name}.`);

    const listed = JSON.parse((await latch('groups', 'list', '--json')).stdout) as Array<{ name: string; members: number; policy: Record<string, unknown> }>;
    expect(listed.find((group) => group.name === name)).toMatchObject({
      members: 1,
      policy: { mode: 'required', deadline: '2027-03-01T09:00:00.000Z', inviteAgainAfterDays: 3, retireTotpAfterPasskeySignIns: 5 },
    });
    expect((await latch('groups', 'list')).stdout).toContain(`${name}  ·  1 member  ·  required from 2027-03-01T09:00:00.000Z`);

    const stats = JSON.parse((await latch('stats', '--json')).stdout);
    expect(stats.groups.find((group: { name: string }) => group.name === name).counts).toEqual({
      users: 1,
      passkeyOnly: 1,
      passkeyAndTotp: 0,
      totpOnly: 0,
      noSecondFactor: 0,
      withUnusedBackupCodes: 0,
    });
    const text = (await latch('stats')).stdout;
    expect(text.split('\n')[0]).toMatch(/^group\s+users\s+passkey only\s+passkey\+TOTP\s+TOTP only\s+no 2nd factor\s+unused backup codes$/);
    expect(text).toMatch(new RegExp(`^${name}\\s+1\\s+1\\s+0\\s+0\\s+0\\s+0$`, 'm'));
    expect((await auditRows(f, 'group.member_add', totpUser.user.id)).map((row) => row.details.via)).toEqual(['cli']);
  });

  it('an unknown command or a missing argument is a usage error (exit 2)', async () => {
    expect((await latch('frobnicate')).code).toBe(EXIT_USAGE);
    expect((await latch('groups', 'add', 'only-a-group')).code).toBe(EXIT_USAGE);
    expect((await latch('--help')).code).toBe(EXIT_OK);
  });
});

describe('latch import (wired into the one CLI)', () => {
  async function latchImport(...argv: string[]) {
    let stderr = '';
    const code = await runCli(['import', ...argv], {
      withContext: async () => {
        throw new Error('import opens the database through loadImportDeps');
      },
      loadImportDeps: async () => ({ deps: f.deps, close: async () => {} }),
      out: () => {},
      err: (text) => (stderr += text),
    });
    return { code, stderr };
  }

  it('imports a jsonl file; a bad line makes the exit code 1, the good lines are still in', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const folder = mkdtempSync(join(tmpdir(), 'latch-cli-import-'));
    const good = uniqueUsername('imp');
    const other = uniqueUsername('imp');
    const file = join(folder, 'users.jsonl');
    writeFileSync(file, `${JSON.stringify({ username: good })}\n{"username": 42}\n${JSON.stringify({ username: other })}\n`);
    const result = await latchImport(file, '--format', 'jsonl');
    expect(result.code).toBe(EXIT_FAILURE);
    expect(result.stderr).toMatch(/line 2/);
    const names = (await f.t.db.selectFrom('users').select('username').where('username', 'in', [good, other]).execute()).map((row) => row.username).sort();
    expect(names).toEqual([good, other].sort());

    const clean = join(folder, 'clean.jsonl');
    writeFileSync(clean, `${JSON.stringify({ username: uniqueUsername('imp') })}\n`);
    expect((await latchImport(clean, '--format', 'jsonl')).code).toBe(EXIT_OK);
  });
});
