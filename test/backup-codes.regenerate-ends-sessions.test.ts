import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { passwordStep, signInWithTotp, signUpWithTotp } from './helpers/fallback.ts';

const t = await createTestApp();

/**
 * Issue 9 and issue 10, finding 6: regenerating backup codes revoked the old set with a raw
 * UPDATE, which ended no session and wrote no `factor.revoke` row; a session an old code opened
 * (a thief's, with a code read off the paper) lived on.
 */
describe('regenerating backup codes ends the old set through the one revocation path', () => {
  it('the session an old code opened ends; the one regenerating stays; the revocation is audited', async () => {
    const user = await signUpWithTotp(t, t.client());
    const thief = t.client({ clientAddress: '192.0.2.77' });
    const ticket = await passwordStep(thief, user.username, user.password);
    expect((await thief.post('/api/signin/backup-code', { ticket, code: user.backupCodes[0] })).status).toBe(200);

    const owner = t.client({ clientAddress: '198.51.100.77' });
    expect((await signInWithTotp(t, owner, user)).status).toBe(200);
    const oldSet = (await owner.get('/api/factors')).body.find((factor: { kind: string }) => factor.kind === 'backup_codes');
    const regenerated = await owner.post('/api/factors/backup-codes');
    expect(regenerated.status).toBe(201);
    expect(regenerated.body.codes).toHaveLength(10);

    expect((await thief.get('/api/session')).status).toBe(401);
    expect((await owner.get('/api/session')).status).toBe(200);
    const revocation = await t.db
      .selectFrom('audit_events')
      .select(['outcome', 'details'])
      .where('subject_user_id', '=', user.userId)
      .where('action', '=', 'factor.revoke')
      .where('factor_id', '=', oldSet.id)
      .executeTakeFirstOrThrow();
    expect(revocation).toMatchObject({ outcome: 'success', details: { kind: 'backup_codes', reason: 'regenerated', endedSessions: 1 } });
    const old = await t.db.selectFrom('factors').select(['status', 'revoked_reason']).where('id', '=', oldSet.id).executeTakeFirstOrThrow();
    expect(old).toEqual({ status: 'revoked', revoked_reason: 'regenerated' });
  });

  it('a recovery session regenerating its own codes (the suggested next step) stays signed in', async () => {
    const user = await signUpWithTotp(t, t.client());
    const recovering = t.client({ clientAddress: '198.51.100.78' });
    const ticket = await passwordStep(recovering, user.username, user.password);
    expect((await recovering.post('/api/signin/backup-code', { ticket, code: user.backupCodes[1] })).status).toBe(200);
    expect((await recovering.post('/api/factors/backup-codes')).status).toBe(201);
    expect((await recovering.get('/api/session')).status).toBe(200);
  });
});
