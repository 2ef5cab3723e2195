import { hash as argon2Hash } from '@node-rs/argon2';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { submitPassword } from '../../src/auth/sign-in/password.ts';
import { signInWithTotpCode } from '../../src/auth/sign-in/second-factor.ts';
import { finishFallbackWithLink, startFallbackWithLink } from '../../src/auth/enroll/link.ts';
import { verifyPassword } from '../../src/factors/password.ts';
import { readJsonl } from '../../src/import/adapters/jsonl.ts';
import { anonymous, createFlows } from '../auth/helpers.ts';
import { codeFromUri } from '../helpers/authenticator.ts';
import { base32, importFootprint, rfc6238, runImport, signInWithPasswordAndCode, storedPasswordHash, streamOf, userNamed } from './helpers.ts';

const f = await createFlows();
const PASSWORD = 'imported from the old server';

function pbkdf2Sha256(password: string, rounds = 27_500): string {
  const salt = randomBytes(16);
  const ab64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '').replace(/\+/g, '.');
  return `$pbkdf2-sha256$${rounds}$${ab64(salt)}$${ab64(pbkdf2Sync(password, salt, rounds, 32, 'sha256'))}`;
}

const jsonl = (records: unknown[]) => records.map((record) => (typeof record === 'string' ? record : JSON.stringify(record))).join('\n') + '\n';

describe('jsonl import', () => {
  it('a bad line in the middle is reported with its line number and reason; the lines around it are imported', async () => {
    const key = randomBytes(20);
    const text = jsonl([
      { username: 'jl-before', passwordHash: pbkdf2Sha256(PASSWORD), totp: { secret: base32(key) } },
      '{"username": "jl-broken", ',
      { username: 'jl-bad-secret', totp: { secret: 'not*base32!' } },
      { username: 'jl-bad-hash', passwordHash: 'plaintext-password' },
      { username: 'jl-after', displayName: 'After', email: 'after@example.org', emailVerified: true, groups: ['Sales'] },
      { username: 'JL-Before' },
    ]);
    const { summary } = await runImport(f, readJsonl(streamOf(text)));
    expect(summary).toMatchObject({ imported: 2, updated: 0, skipped: 0, failed: 4 });
    expect(summary.errors.map((error) => error.line)).toEqual([2, 3, 4, 6]);
    expect(summary.errors[0]!.reason).toBe('not valid JSON');
    expect(summary.errors[1]!.reason).toMatch(/^totp\.secret: is not base32/);
    expect(summary.errors[2]!.reason).toMatch(/^passwordHash: is not a supported hash/);
    expect(summary.errors[3]!.reason).toBe('username also on line 1');
    // No reason repeats the rejected value.
    expect(JSON.stringify(summary)).not.toContain('plaintext-password');
    expect(JSON.stringify(summary)).not.toContain('not*base32');

    const after = await userNamed(f, 'jl-after');
    expect(after).toMatchObject({ display_name: 'After', email: 'after@example.org' });
    expect(after!.email_verified_at).toEqual(f.t.clock.now());
    const membership = await f.deps.db
      .selectFrom('group_members')
      .innerJoin('groups', 'groups.id', 'group_members.group_id')
      .select('groups.name')
      .where('group_members.user_id', '=', after!.id)
      .execute();
    expect(membership.map((row) => row.name)).toEqual(['sales']);
    expect(await userNamed(f, 'jl-bad-secret')).toBeUndefined();
  });

  it('re-running the same file changes nothing (existing users are skipped, never duplicated)', async () => {
    const text = jsonl([
      { username: 'jl-again-1', passwordHash: pbkdf2Sha256(PASSWORD), totp: { secret: base32(randomBytes(20)) }, groups: ['ops'] },
      { username: 'jl-again-2', email: 'two@example.org' },
      { username: 'jl-again-3', backupCodes: ['abcde-fghjk-mnpqr'] },
    ]);
    const first = await runImport(f, readJsonl(streamOf(text)), { group: 'Cohort A' });
    expect(first.summary).toMatchObject({ imported: 3, failed: 0 });
    const footprint = await importFootprint(f);
    const again = await runImport(f, readJsonl(streamOf(text)), { group: 'Cohort A' });
    expect(again.summary).toMatchObject({ imported: 0, updated: 0, skipped: 3, failed: 0 });
    expect(again.links).toEqual([]);
    expect(await importFootprint(f)).toEqual(footprint);

    // A new --group for the same file adds memberships only: the users count as updated.
    const regrouped = await runImport(f, readJsonl(streamOf(text)), { group: 'cohort b' });
    expect(regrouped.summary).toMatchObject({ imported: 0, updated: 3, skipped: 0 });
    const after = await importFootprint(f);
    expect(after.users).toBe(footprint.users);
    expect(after.factors).toBe(footprint.factors);
    expect(after.group_members).toBe(footprint.group_members! + 3);
  });

  it('an existing account keeps its password and factors: an import cannot take it over', async () => {
    const original = { username: 'jl-owner', passwordHash: pbkdf2Sha256(PASSWORD), totp: { secret: base32(randomBytes(20)) } };
    await runImport(f, readJsonl(streamOf(jsonl([original]))));
    const user = (await userNamed(f, 'jl-owner'))!;
    const before = await storedPasswordHash(f, user.id);
    const attacker = { username: 'JL-Owner', passwordHash: pbkdf2Sha256('attacker password'), totp: { secret: base32(randomBytes(20)) } };
    const { summary } = await runImport(f, readJsonl(streamOf(jsonl([attacker]))));
    expect(summary).toMatchObject({ imported: 0, skipped: 1 });
    expect(await storedPasswordHash(f, user.id)).toBe(before);
  });

  it('an imported user signs in with their password and the codes their app already shows (SHA256, 8 digits, 60 s); the legacy hash becomes argon2id', async () => {
    const key = randomBytes(32);
    const record = { username: 'jl-signs-in', passwordHash: pbkdf2Sha256(PASSWORD), totp: { secret: base32(key).toLowerCase(), algorithm: 'SHA256', digits: 8, period: 60 } };
    const { summary, links } = await runImport(f, readJsonl(streamOf(jsonl([record]))));
    expect(summary.imported).toBe(1);
    expect(links).toEqual([]);
    const signedIn = await signInWithPasswordAndCode(f, 'jl-signs-in', PASSWORD, (now) => rfc6238(key, now, { algorithm: 'sha256', digits: 8, period: 60 }), 60);
    expect(signedIn.established.session).toMatchObject({ aal: 2 });
    const rehashed = await storedPasswordHash(f, signedIn.user.id);
    expect(rehashed).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(rehashed, PASSWORD)).toEqual({ valid: true, needsRehash: false });
  });

  it('imported backup codes are stored as keyed hashes and redeem', async () => {
    const code = 'k7m2p-q9r3s-t4v5w';
    const argon = await argon2Hash(PASSWORD, { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    await runImport(f, readJsonl(streamOf(jsonl([{ username: 'jl-codes', passwordHash: argon, backupCodes: [code.toUpperCase()] }]))));
    const user = (await userNamed(f, 'jl-codes'))!;
    const rows = await f.deps.db.selectFrom('backup_codes').innerJoin('factors', 'factors.id', 'backup_codes.factor_id').select('code_hash').where('factors.user_id', '=', user.id).execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(code.replace(/-/g, ''));
    const { signInWithBackupCode } = await import('../../src/auth/sign-in/second-factor.ts');
    const step = await submitPassword(f.deps, anonymous(f), { username: 'jl-codes', password: PASSWORD, deviceToken: null });
    if (step.kind !== 'ticket') throw new Error('expected a ticket');
    const signedIn = await signInWithBackupCode(f.deps, anonymous(f), { ticket: step.ticket, code });
    expect(signedIn.user.id).toBe(user.id);
  });

  it('a user imported without a second factor gets one single-use enrollment link, and the password alone never makes a session', async () => {
    const { summary, links } = await runImport(f, readJsonl(streamOf(jsonl([{ username: 'jl-no-factor', passwordHash: pbkdf2Sha256(PASSWORD) }]))));
    expect(summary.imported).toBe(1);
    expect(links).toHaveLength(1);
    expect(links[0]!.username).toBe('jl-no-factor');
    expect(links[0]!.url).toMatch(/^http:\/\/localhost:3000\/enroll#token=[A-Za-z0-9_-]{43}$/);
    const user = (await userNamed(f, 'jl-no-factor'))!;
    const stored = await f.deps.db.selectFrom('enrollment_links').selectAll().where('user_id', '=', user.id).execute();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ purpose: 'import', used_at: null });
    expect(stored[0]!.expires_at.getTime() - f.t.clock.now().getTime()).toBe(24 * 3600 * 1000);
    expect(JSON.stringify(stored)).not.toContain(links[0]!.url.split('token=')[1]);

    // The right password answers the same ticket as a wrong one; no code turns it into a session.
    const step = await submitPassword(f.deps, anonymous(f), { username: 'jl-no-factor', password: PASSWORD, deviceToken: null });
    if (step.kind !== 'ticket') throw new Error('expected a ticket');
    await expect(signInWithTotpCode(f.deps, anonymous(f), { ticket: step.ticket, code: '123456', rememberDevice: false })).rejects.toMatchObject({ code: expect.any(String) });
    const sessions = await f.deps.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute();
    expect(sessions).toEqual([]);
  });

  it('on its link, a user imported without a second factor can set up an authenticator app instead of a passkey, keeping the imported password', async () => {
    const { links } = await runImport(f, readJsonl(streamOf(jsonl([{ username: 'jl-link-app', passwordHash: pbkdf2Sha256(PASSWORD) }, { username: 'jl-link-nopw' }]))));
    const tokenOf = (username: string) => links.find((link) => link.username === username)!.url.split('token=')[1]!;
    // Without a password of its own, the account must choose one on the link.
    await expect(startFallbackWithLink(f.deps, anonymous(f), { token: tokenOf('jl-link-nopw') })).rejects.toMatchObject({ code: 'validation_failed' });

    const user = (await userNamed(f, 'jl-link-app'))!;
    const importedHash = await storedPasswordHash(f, user.id);
    const token = tokenOf('jl-link-app');
    const enrollment = await startFallbackWithLink(f.deps, anonymous(f), { token });
    // A wrong first code changes nothing; the right one finishes.
    const wrong = codeFromUri(enrollment.otpauthUri, f.t.clock.now()) === '000000' ? '111111' : '000000';
    await expect(finishFallbackWithLink(f.deps, anonymous(f), { token, ceremonyId: enrollment.ceremonyId, code: wrong })).rejects.toMatchObject({ code: 'code_invalid' });
    const done = await finishFallbackWithLink(f.deps, anonymous(f), { token, ceremonyId: enrollment.ceremonyId, code: codeFromUri(enrollment.otpauthUri, f.t.clock.now()) });
    expect(done.user.id).toBe(user.id);
    expect(done.established.session.amr).toEqual(expect.arrayContaining(['pwd', 'otp']));
    expect(done.backupCodes.length).toBeGreaterThan(0);
    expect(await storedPasswordHash(f, user.id)).toBe(importedHash);
    const kinds = await f.deps.db.selectFrom('factors').select('kind').where('user_id', '=', user.id).where('status', '=', 'active').execute();
    expect(kinds.map((row) => row.kind).sort()).toEqual(['backup_codes', 'password', 'totp']);

    // The link worked once.
    await expect(startFallbackWithLink(f.deps, anonymous(f), { token })).rejects.toMatchObject({ code: 'enrollment_link_invalid' });
    // From now on the imported password and the new app sign in.
    const signedIn = await signInWithPasswordAndCode(f, 'jl-link-app', PASSWORD, (now) => codeFromUri(enrollment.otpauthUri, now));
    expect(signedIn.user.id).toBe(user.id);
  });

  it('the TOTP secret and password hash appear in no audit row, report or progress callback; the stored secret is sealed', async () => {
    const key = randomBytes(20);
    const secret = base32(key);
    const hash = pbkdf2Sha256(PASSWORD);
    const progress: unknown[] = [];
    const { summary } = await runImport(f, readJsonl(streamOf(jsonl([{ username: 'jl-secret', passwordHash: hash, totp: { secret } }, { username: 'jl-secret-bad', totp: { secret, digits: 7 } }]))), {
      onProgress: (counts) => progress.push(counts),
    });
    expect(summary).toMatchObject({ imported: 1, failed: 1 });
    const user = (await userNamed(f, 'jl-secret'))!;
    const audit = await f.deps.db.selectFrom('audit_events').selectAll().where('subject_user_id', '=', user.id).execute();
    expect(audit.map((row) => row.action)).toEqual(['user.imported']);
    const everything = JSON.stringify({ audit, summary, progress });
    for (const needle of [secret, secret.toLowerCase(), key.toString('hex'), key.toString('base64'), hash]) expect(everything).not.toContain(needle);
    const totp = await f.deps.db.selectFrom('factors').selectAll().where('user_id', '=', user.id).where('kind', '=', 'totp').executeTakeFirstOrThrow();
    expect(totp.secret_sealed).toMatch(/^v1\./);
    expect(JSON.stringify(totp)).not.toContain(secret);
  });

  it('--dry-run validates and counts but writes nothing and hands out no link', async () => {
    const before = await importFootprint(f);
    const { summary, links } = await runImport(f, readJsonl(streamOf(jsonl([{ username: 'jl-dry-1' }, { username: 'jl-dry-2', totp: { secret: base32(randomBytes(20)) } }, '[]']))), { dryRun: true, group: 'dry' });
    expect(summary).toMatchObject({ imported: 2, failed: 1 });
    expect(summary.errors).toEqual([{ line: 3, reason: 'not a JSON object' }]);
    expect(links).toEqual([]);
    expect(await importFootprint(f)).toEqual(before);
  });

  it('writes in batches and reports progress after each', async () => {
    const records = Array.from({ length: 7 }, (_, i) => ({ username: `jl-batch-${i}`, totp: { secret: base32(randomBytes(20)) } }));
    const progress: number[] = [];
    const { summary } = await runImport(f, readJsonl(streamOf(jsonl(records))), { batchSize: 3, onProgress: (counts) => progress.push(counts.imported) });
    expect(summary.imported).toBe(7);
    expect(progress).toEqual([3, 6, 7]);
  });
});
