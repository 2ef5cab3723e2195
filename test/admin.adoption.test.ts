import { beforeAll, describe, expect, it } from 'vitest';
import { adoptionDashboard, csvCell, csvLine, passkeyAdoptionSeries, signInsByDay } from '../src/admin/adoption.ts';
import { rebuildSignInsPerDay } from '../src/audit/sign-ins-per-day.ts';
import type { Factor } from '../src/db/schema.ts';
import { createUser } from '../src/users/users.ts';
import { statsCommand } from '../src/cli/stats.ts';
import { createTestApp, insertFactor, seedSignedInUser } from './helpers/app.ts';

/**
 * The adoption dashboard on a seeded organization whose answers are worked out by hand (the
 * comments say why each figure is what it is). The clock stands at 2026-11-22T10:00Z.
 */
const t = await createTestApp();
const at = (iso: string) => new Date(iso);

async function user(username: string, factors: Array<Partial<Factor> & Pick<Factor, 'kind'>>, options: { displayName?: string; status?: 'disabled' } = {}) {
  const created = (await createUser(t.db, { username, displayName: options.displayName ?? null }, at('2026-09-01T00:00:00Z')))!;
  if (options.status) await t.db.updateTable('users').set({ status: 'disabled', disabled_at: t.clock.now() }).where('id', '=', created.id).execute();
  const rows: Factor[] = [];
  for (const spec of factors) rows.push(await insertFactor(t.db, created.id, spec, spec.created_at ?? at('2026-09-01T00:00:00Z')));
  return { ...created, factors: rows };
}

async function signIn(userId: string, method: string, iso: string, action = 'session.create') {
  await t.db
    .insertInto('audit_events')
    .values({ occurred_at: at(iso), action, outcome: 'success', actor_user_id: userId, subject_user_id: userId, details: JSON.stringify({ method }) })
    .execute();
}

const revoked = (createdIso: string, revokedIso: string) => ({ kind: 'passkey' as const, created_at: at(createdIso), status: 'revoked' as const, revoked_at: at(revokedIso) });
const passkey = (createdIso: string) => ({ kind: 'passkey' as const, created_at: at(createdIso) });

let admin: Awaited<ReturnType<typeof seedSignedInUser>> & { client: ReturnType<typeof t.client> };
let sales: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  const client = t.client();
  // The admin: a passkey created now (11-22).
  admin = { client, ...(await seedSignedInUser(t, client, { username: 'admin' })) };
  await t.db.updateTable('users').set({ is_admin: true }).where('id', '=', admin.user.id).execute();

  // passkey only, two overlapping passkeys (one period from 11-12).
  ids.u1 = (await user('u1-passkey', [passkey('2026-11-12T12:00:00Z'), passkey('2026-11-14T12:00:00Z')])).id;
  // passkey + TOTP, backup codes: two unused.
  const u2 = await user('u2-both', [passkey('2026-11-17T12:00:00Z'), { kind: 'totp' }, { kind: 'backup_codes' }]);
  ids.u2 = u2.id;
  await t.db
    .insertInto('backup_codes')
    .values([
      { factor_id: u2.factors[2]!.id, code_hash: 'backup-code-hash-1', used_at: null },
      { factor_id: u2.factors[2]!.id, code_hash: 'backup-code-hash-2', used_at: null },
      { factor_id: u2.factors[2]!.id, code_hash: 'backup-code-hash-3', used_at: at('2026-11-01T00:00:00Z') },
    ])
    .execute();
  // TOTP only; its backup codes are all used (so not "holding unused backup codes").
  const u3 = await user('u3-app', [{ kind: 'totp' }, { kind: 'backup_codes' }]);
  ids.u3 = u3.id;
  await t.db.insertInto('backup_codes').values({ factor_id: u3.factors[1]!.id, code_hash: 'h4', used_at: at('2026-11-01T00:00:00Z') }).execute();
  // TOTP only, exempted until 12-22; a display name a spreadsheet would run as a formula.
  ids.u4 = (await user('u4-app', [{ kind: 'totp' }, { kind: 'password' }], { displayName: '=HYPERLINK("http://evil.example","x")' })).id;
  // No second factor: a password, and a passkey registration never finished (pending: not a passkey).
  ids.u5 = (await user('u5-none', [{ kind: 'password' }, { kind: 'passkey', status: 'pending', created_at: at('2026-11-10T00:00:00Z') }], { displayName: 'Smith, "Jo"' })).id;
  // Disabled: not in today's figures.
  ids.u6 = (await user('u6-disabled', [{ kind: 'totp' }], { status: 'disabled' })).id;
  // A passkey from 11-02 revoked 11-19, a new one on 11-21: a gap of two days without.
  ids.u7 = (await user('u7-gap', [revoked('2026-11-02T12:00:00Z', '2026-11-19T12:00:00Z'), passkey('2026-11-21T12:00:00Z')])).id;
  // A passkey from 10-13 revoked 11-20, TOTP kept: TOTP only now.
  ids.u8 = (await user('u8-lapsed', [revoked('2026-10-13T12:00:00Z', '2026-11-20T12:00:00Z'), { kind: 'totp' }])).id;

  const group = await t.db
    .insertInto('groups')
    .values({ name: 'sales', rollout_mode: 'required', passkey_deadline: at('2026-12-02T10:00:00Z'), created_at: t.clock.now(), updated_at: t.clock.now(), retire_totp_after_passkey_sign_ins: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  sales = group.id;
  await t.db
    .insertInto('group_members')
    .values(['u3', 'u4', 'u5', 'u8'].map((key) => ({ group_id: sales, user_id: ids[key]!, added_at: t.clock.now() })))
    .execute();

  await t.db
    .insertInto('passkey_exemptions')
    .values([
      { user_id: ids.u4!, reason: 'travelling, no phone', expires_at: at('2026-12-22T00:00:00Z'), granted_by: admin.user.id, created_at: t.clock.now() },
      // Ended already: not in force.
      { user_id: ids.u5!, reason: 'old', expires_at: at('2026-11-01T00:00:00Z'), granted_by: admin.user.id, created_at: at('2026-10-01T00:00:00Z') },
    ])
    .execute();

  await signIn(ids.u1!, 'passkey', '2026-11-22T09:00:00Z');
  await signIn(ids.u2!, 'passkey', '2026-11-22T09:30:00Z');
  await signIn(ids.u3!, 'password_totp', '2026-11-21T08:00:00Z');
  await signIn(ids.u8!, 'password_totp', '2026-11-21T23:59:59Z');
  await signIn(ids.u2!, 'password_backup_code', '2026-11-21T12:00:00Z');
  // The first second of the 30-day window (10-24 … 11-22) counts; the one before does not.
  await signIn(ids.u4!, 'password_totp', '2026-10-24T00:00:00Z');
  await signIn(ids.u4!, 'password_totp', '2026-10-23T23:59:59Z');
  // Not sign-ins.
  await signIn(ids.u1!, 'passkey', '2026-11-22T09:10:00Z', 'session.end');
  await signIn(ids.u1!, 'passkey', '2026-11-22T09:20:00Z', 'step_up');
  // The rows above went straight into the audit log, past the sign-in that keeps the rollup the
  // dashboard reads: count it again from the log, as the migration's backfill does.
  await rebuildSignInsPerDay(t.db);
});

describe('adoption figures on a known organization', () => {
  it('counts users by factor state, organization and group, without disabled accounts', async () => {
    const dashboard = await adoptionDashboard(t.db, t.clock.now(), { adoptionDays: 14 });
    // Active: admin, u1, u2, u3, u4, u5, u7, u8.
    expect(dashboard.organization).toEqual({ users: 8, passkeyOnly: 3, passkeyAndTotp: 1, totpOnly: 3, noSecondFactor: 1, withUnusedBackupCodes: 1 });
    const group = dashboard.groups.find((entry) => entry.name === 'sales')!;
    expect(group.counts).toEqual({ users: 4, passkeyOnly: 0, passkeyAndTotp: 0, totpOnly: 3, noSecondFactor: 1, withUnusedBackupCodes: 0 });
    expect(group).toMatchObject({ mode: 'required', deadline: '2026-12-02T10:00:00.000Z', daysLeft: 10 });
    expect(group.totpOnly).toEqual({
      total: 3,
      users: [
        { id: ids.u3, username: 'u3-app', displayName: 'u3-app', lastSignInAt: '2026-11-21T08:00:00.000Z' },
        { id: ids.u4, username: 'u4-app', displayName: '=HYPERLINK("http://evil.example","x")', lastSignInAt: '2026-10-24T00:00:00.000Z' },
        { id: ids.u8, username: 'u8-lapsed', displayName: 'u8-lapsed', lastSignInAt: '2026-11-21T23:59:59.000Z' },
      ],
    });
    const everyone = dashboard.groups.find((entry) => entry.isDefault)!;
    expect(everyone).toMatchObject({ counts: dashboard.organization, mode: 'optional', deadline: null, daysLeft: null, totpOnly: { total: 3 } });
    expect(dashboard.exemptions).toEqual({
      total: 1,
      items: [{ userId: ids.u4, username: 'u4-app', reason: 'travelling, no phone', until: '2026-12-22T00:00:00.000Z', grantedBy: admin.user.id, createdAt: t.clock.now().toISOString() }],
    });
  });

  it('days left: rounded up, 0 on the deadline, negative once passed', async () => {
    const { daysLeft } = await import('../src/admin/adoption.ts');
    const now = at('2026-11-22T10:00:00Z');
    expect(daysLeft(at('2026-12-02T10:00:00Z'), now)).toBe(10);
    expect(daysLeft(at('2026-12-02T10:00:01Z'), now)).toBe(11);
    expect(daysLeft(now, now)).toBe(0);
    expect(daysLeft(at('2026-11-20T10:00:00Z'), now)).toBe(-2);
    expect(daysLeft(null, now)).toBeNull();
  });

  it('sign-ins by method per UTC day over the last 30 days, today included', async () => {
    const signIns = await signInsByDay(t.db, t.clock.now());
    expect(signIns.days).toHaveLength(30);
    expect(signIns.days[0]).toEqual({ day: '2026-10-24', total: 1, byMethod: { passkey: 0, password_backup_code: 0, password_totp: 1 } });
    expect(signIns.days.at(-1)).toEqual({ day: '2026-11-22', total: 2, byMethod: { passkey: 2, password_backup_code: 0, password_totp: 0 } });
    expect(signIns.days.at(-2)).toEqual({ day: '2026-11-21', total: 3, byMethod: { passkey: 0, password_backup_code: 1, password_totp: 2 } });
    expect(signIns.methods).toEqual(['passkey', 'password_backup_code', 'password_totp']);
    expect(signIns.totals).toEqual({ passkey: 2, password_backup_code: 1, password_totp: 3 });
    expect(signIns.days.reduce((sum, day) => sum + day.total, 0)).toBe(6);
  });

  it('passkey adoption over time: users (not passkeys) holding one at the end of each day, from the factor history', async () => {
    const series = await passkeyAdoptionSeries(t.db, t.clock.now(), 14);
    expect(series.map((point) => point.day)).toEqual([
      '2026-11-09', '2026-11-10', '2026-11-11', '2026-11-12', '2026-11-13', '2026-11-14', '2026-11-15',
      '2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21', '2026-11-22',
    ]);
    // Before the window: u7 (from 11-02) and u8 (from 10-13). u1 joins on 11-12 (its second
    // passkey on 11-14 changes nothing), u2 on 11-17; u7 leaves on 11-19 and comes back on 11-21,
    // u8 leaves on 11-20; the admin's passkey is from today. u5's pending passkey never counts.
    expect(series.map((point) => point.usersWithPasskey)).toEqual([2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 3, 2, 3, 4]);
  });

  it('latch stats prints the same figures', async () => {
    const lines: string[] = [];
    await statsCommand({ deps: { db: t.db, keyring: t.keyring, config: t.config }, clock: t.clock, out: (line) => lines.push(line) }, {});
    const text = lines.join('\n');
    expect(text).toMatch(/^\(organization\)\s+8\s+3\s+1\s+3\s+1\s+1$/m);
    expect(text).toMatch(/^sales\s+4\s+0\s+0\s+3\s+1\s+0$/m);
    expect(text).toMatch(/^sales\s+required\s+2026-12-02\s+10\s+3$/m);
    expect(text).toContain('sign-ins, last 30 days: 6 (passkey 2, password_backup_code 1, password_totp 3)');
    expect(text).toContain('exemptions in force: 1');
    const json: string[] = [];
    await statsCommand({ deps: { db: t.db, keyring: t.keyring, config: t.config }, clock: t.clock, out: (line) => json.push(line) }, { json: true });
    expect(JSON.parse(json.join('\n'))).toEqual(JSON.parse(JSON.stringify(await adoptionDashboard(t.db, t.clock.now()))));
  });
});

describe('GET /api/admin/adoption', () => {
  it('answers an admin with a fresh passkey proof, and is in /openapi.json', async () => {
    const response = await admin.client.get('/api/admin/adoption?days=14');
    expect(response.status).toBe(200);
    expect(response.body.organization).toMatchObject({ users: 8, passkeyOnly: 3 });
    expect(response.body.adoptionOverTime.map((point: { usersWithPasskey: number }) => point.usersWithPasskey)).toEqual([2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 3, 2, 3, 4]);
    expect((await admin.client.get('/api/admin/adoption?days=2')).status).toBe(400);
    const paths = Object.keys((await t.client().get('/openapi.json')).body.paths);
    expect(paths).toContain('/api/admin/adoption');
    expect(paths).toContain('/api/admin/adoption/users.csv');
  });

  it('refuses no session (401) and a member (403)', async () => {
    expect((await t.client().get('/api/admin/adoption')).status).toBe(401);
    expect((await t.client().get('/api/admin/adoption/users.csv')).status).toBe(401);
    const member = t.client();
    await seedSignedInUser(t, member);
    expect((await member.get('/api/admin/adoption')).body.error).toMatchObject({ code: 'forbidden', reason: 'not_admin' });
    expect((await member.get('/api/admin/adoption/users.csv')).body.error).toMatchObject({ code: 'forbidden', reason: 'not_admin' });
  });
});

describe('the users CSV', () => {
  it('one line per user with factor state, quoted per RFC 4180, formulas defused, no secret; the export is audited', async () => {
    const response = await admin.client.get('/api/admin/adoption/users.csv');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="latch-users-2026-11-22.csv"');
    const text = response.body as string;
    const lines = text.split('\r\n');
    expect(lines[0]).toBe('username,display_name,status,groups,factor_state,passkeys,has_totp,unused_backup_codes,last_sign_in');
    expect(lines).toContain('u2-both,u2-both,active,,passkey_and_totp,1,true,2,2026-11-22T09:30:00.000Z');
    expect(lines).toContain('u1-passkey,u1-passkey,active,,passkey_only,2,false,0,2026-11-22T09:00:00.000Z');
    expect(lines).toContain(`u4-app,"'=HYPERLINK(""http://evil.example"",""x"")",active,sales,totp_only,0,true,0,2026-10-24T00:00:00.000Z`);
    expect(lines).toContain('u5-none,"Smith, ""Jo""",active,sales,none,0,false,0,');
    expect(lines).toContain('u6-disabled,u6-disabled,disabled,,totp_only,0,true,0,');
    expect(lines.at(-1)).toBe('');
    expect(lines).toHaveLength(1 + 10 + 1); // the header, nine seeded users and the member of the test above, the final line break
    // Distinctive sentinels: a short one (it was 'h1') also matched random usernames now and then.
    expect(text).not.toMatch(/v1\.test|argon2|backup-code-hash|test-credential/);
    const audit = await t.db.selectFrom('audit_events').selectAll().where('action', '=', 'admin.export_users').execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_user_id: admin.user.id, session_id: admin.sessionId, outcome: 'success' });
  });

  it('pages through every user (keyset by username) without losing or repeating one', async () => {
    const { exportUsersCsv } = await import('../src/auth/admin/adoption.ts');
    const { lookUpSession } = await import('../src/sessions/sessions.ts');
    const { sessionLifetimes } = await import('../src/auth/requester.ts');
    const { SESSION_COOKIE } = await import('../src/http/session-cookie.ts');
    const current = (await lookUpSession(t.db, t.keyring, admin.client.cookies.get(SESSION_COOKIE)!, sessionLifetimes(t.config), t.clock.now()))!;
    const chunks: string[] = [];
    for await (const chunk of exportUsersCsv({ db: t.db, keyring: t.keyring, config: t.config }, { now: t.clock.now(), clientAddress: null, userAgent: null, requestId: null, current }, 3)) {
      chunks.push(chunk);
    }
    expect(chunks.length).toBe(1 + 4); // header, then pages of 3, 3, 3, 1
    const usernames = chunks.join('').split('\r\n').slice(1, -1).map((line) => line.split(',')[0]);
    expect(usernames).toEqual([...usernames].sort());
    expect(new Set(usernames).size).toBe(10);
  });

  it('csvCell: formula starts are prefixed, quotes doubled, separators and line breaks quoted', () => {
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\t=1')).toBe("'\t=1");
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('=a,"b"')).toBe(`"'=a,""b"""`);
    expect(csvCell(null)).toBe('');
    expect(csvCell(3)).toBe('3');
    expect(csvCell(true)).toBe('true');
    expect(csvLine(['a', null, 2])).toBe('a,,2\r\n');
  });
});
