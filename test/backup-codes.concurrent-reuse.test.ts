import { describe, expect, it } from 'vitest';
import { BACKUP_CODE_ALPHABET } from '../src/factors/backup-codes.ts';
import { createTestApp } from './helpers/app.ts';
import { passwordStep, signUpWithTotp } from './helpers/fallback.ts';

const t = await createTestApp();

async function signInWithBackupCode(client: ReturnType<typeof t.client>, user: { username: string; password: string }, code: string) {
  const ticket = await passwordStep(client, user.username, user.password);
  return client.post('/api/signin/backup-code', { ticket, code });
}

describe('backup codes', () => {
  it('ten codes, each ≥ 64 bits from an unambiguous alphabet, grouped for reading, all different', async () => {
    const user = await signUpWithTotp(t, t.client());
    expect(user.backupCodes).toHaveLength(10);
    expect(new Set(user.backupCodes).size).toBe(10);
    for (const code of user.backupCodes) {
      expect(code).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}-[a-z2-9]{5}$/);
      expect(code).not.toMatch(/[01ilo]/);
      const symbols = code.replace(/-/g, '').length;
      expect(symbols * Math.log2(BACKUP_CODE_ALPHABET.length)).toBeGreaterThanOrEqual(64);
    }
  });

  it('shown once: the factor list shows counts, never codes', async () => {
    const client = t.client();
    const user = await signUpWithTotp(t, client);
    const factors = await client.get('/api/factors');
    const set = factors.body.find((factor: { kind: string }) => factor.kind === 'backup_codes');
    expect(set).toMatchObject({ remaining: 10, total: 10 });
    const text = JSON.stringify(factors.body);
    for (const code of user.backupCodes) expect(text).not.toContain(code.replace(/-/g, ''));
  });

  it('a code signs in as a recovery, input normalised; a used code is refused', async () => {
    const user = await signUpWithTotp(t, t.client());
    const code = user.backupCodes[0]!;
    const client = t.client();
    const typed = ` ${code.toUpperCase().replace(/-/g, ' ')} `;
    const response = await signInWithBackupCode(client, user, typed);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ user: { id: user.userId }, remainingBackupCodes: 9, suggestions: ['regenerate_backup_codes', 'add_passkey'] });
    expect((await client.get('/api/session')).body.session).toMatchObject({ aal: 2, amr: ['pwd', 'backup_code'], recovery: true });

    const reuse = await signInWithBackupCode(t.client(), user, code);
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe('code_invalid');
  });

  it('using a code writes an audit row and a notification, without the code', async () => {
    const user = await signUpWithTotp(t, t.client());
    const code = user.backupCodes[1]!;
    expect((await signInWithBackupCode(t.client(), user, code)).status).toBe(200);
    const audit = await t.db.selectFrom('audit_events').selectAll().where('subject_user_id', '=', user.userId).where('action', '=', 'backup_code.use').execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toMatchObject({ remaining: 9 });
    const notifications = await t.db.selectFrom('notifications').selectAll().where('user_id', '=', user.userId).where('kind', '=', 'backup_code_used').execute();
    expect(notifications).toHaveLength(1);
    expect(notifications[0]!.payload).toMatchObject({ remaining: 9 });
    expect(JSON.stringify([audit, notifications])).not.toContain(code.replace(/-/g, ''));
  });

  it('two concurrent sign-ins with one code: exactly one wins', async () => {
    const user = await signUpWithTotp(t, t.client());
    const code = user.backupCodes[2]!;
    const clients = [t.client(), t.client({ clientAddress: '203.0.113.30' }), t.client({ clientAddress: '203.0.113.31' }), t.client({ clientAddress: '203.0.113.32' })];
    const tickets = await Promise.all(clients.map((client) => passwordStep(client, user.username, user.password)));
    const other = t.anotherInstance();
    const responses = await Promise.all(clients.map((client, i) => (i % 2 ? client.via(other) : client).post('/api/signin/backup-code', { ticket: tickets[i], code })));
    expect(responses.map((response) => response.status).sort()).toEqual([200, 401, 401, 401]);
    const used = await t.db.selectFrom('backup_codes').innerJoin('factors', 'factors.id', 'backup_codes.factor_id').select('backup_codes.used_at').where('factors.user_id', '=', user.userId).where('backup_codes.used_at', 'is not', null).execute();
    expect(used).toHaveLength(1);
  });

  it('regenerating needs a fresh proof, ends the old set, and shows the new codes once', async () => {
    const client = t.client();
    const user = await signUpWithTotp(t, client);
    t.clock.advance(10 * 60);
    const stale = await client.post('/api/factors/backup-codes');
    expect(stale.status).toBe(403);
    expect(stale.body.error).toMatchObject({ code: 'step_up_required', methods: ['totp'] });

    expect((await client.post('/api/step-up/totp', { code: user.code() })).status).toBe(200);
    const fresh = await client.post('/api/factors/backup-codes');
    expect(fresh.status).toBe(201);
    expect(fresh.body.codes).toHaveLength(10);

    expect((await signInWithBackupCode(t.client(), user, user.backupCodes[3]!)).status).toBe(401);
    expect((await signInWithBackupCode(t.client({ clientAddress: '203.0.113.40' }), user, fresh.body.codes[0])).status).toBe(200);
    const notifications = await t.db.selectFrom('notifications').select('kind').where('user_id', '=', user.userId).execute();
    expect(notifications.map((n) => n.kind)).toContain('backup_codes_regenerated');
  });
});
