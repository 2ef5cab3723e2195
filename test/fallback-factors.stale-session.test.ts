import { describe, expect, it } from 'vitest';
import { createTestApp, seedSignedInUser } from './helpers/app.ts';
import { codeFromUri } from './helpers/authenticator.ts';
import { passwordStep, signUpWithTotp } from './helpers/fallback.ts';

const t = await createTestApp();

describe('adding TOTP to an existing account, under the policy engine', () => {
  it('a stale session must step up first; nothing is started', async () => {
    const client = t.client();
    await seedSignedInUser(t, client);
    t.clock.advance(10 * 60);
    const response = await client.post('/api/factors/totp/setup');
    expect(response.status).toBe(403);
    expect(response.body.error).toMatchObject({ code: 'step_up_required', methods: ['passkey'], maxAgeSeconds: 300 });
  });

  it('a wrong code never activates it; the right code does, with backup codes, and the secret is never shown again', async () => {
    const client = t.client();
    const { user } = await seedSignedInUser(t, client);
    const setup = await client.post('/api/factors/totp/setup');
    expect(setup.status).toBe(200);
    expect(setup.body).toMatchObject({ ceremonyId: expect.any(String), otpauthUri: expect.stringMatching(/^otpauth:\/\/totp\/Latch:/), qrCode: expect.stringMatching(/^data:image\/png/), secret: expect.any(String) });

    const wrong = await client.post('/api/factors/totp/verify', { ceremonyId: setup.body.ceremonyId, code: '000000' === codeFromUri(setup.body.otpauthUri, t.clock.now()) ? '111111' : '000000' });
    expect(wrong.status).toBe(401);
    expect((await client.get('/api/factors')).body.map((factor: { kind: string }) => factor.kind)).toEqual(['passkey']);

    const verified = await client.post('/api/factors/totp/verify', { ceremonyId: setup.body.ceremonyId, code: codeFromUri(setup.body.otpauthUri, t.clock.now()), label: 'Phone' });
    expect(verified.status).toBe(201);
    expect(verified.body.factor).toMatchObject({ kind: 'totp', label: 'Phone', algorithm: 'SHA1', digits: 6, periodSeconds: 30 });
    expect(verified.body.backupCodes).toHaveLength(10);

    const listed = await client.get('/api/factors');
    expect(listed.body.map((factor: { kind: string }) => factor.kind).sort()).toEqual(['backup_codes', 'passkey', 'totp']);
    expect(JSON.stringify(listed.body)).not.toContain(setup.body.secret);
    expect((await client.post('/api/factors/totp/setup')).body.error.code).toBe('totp_already_enrolled');
    // The wrong confirmation code is audited as a failure, like a wrong code at sign-in.
    const audit = await t.db.selectFrom('audit_events').select(['action', 'outcome']).where('subject_user_id', '=', user.id).where('action', '=', 'factor.add').orderBy('id').execute();
    expect(audit).toEqual([{ action: 'factor.add', outcome: 'failure' }, { action: 'factor.add', outcome: 'success' }]);
  });

  it('an enrollment is bound to the session that started it', async () => {
    const client = t.client();
    const { user } = await seedSignedInUser(t, client);
    const setup = await client.post('/api/factors/totp/setup');
    const otherSession = t.client();
    await seedSignedInUser(t, otherSession, { username: `${user.username}-x` });
    const response = await otherSession.post('/api/factors/totp/verify', { ceremonyId: setup.body.ceremonyId, code: codeFromUri(setup.body.otpauthUri, t.clock.now()) });
    expect(response.body.error.code).toBe('ceremony_invalid');
  });

  it('step-up with TOTP needs an enrolled authenticator', async () => {
    const client = t.client();
    await seedSignedInUser(t, client);
    const response = await client.post('/api/step-up/totp', { code: '123456' });
    expect(response.body.error.code).toBe('totp_not_enrolled');
  });
});

describe('setting and changing the password, under the policy engine', () => {
  it('a passkey user adds a password; a stale session must step up to change it', async () => {
    const client = t.client();
    await seedSignedInUser(t, client);
    const added = await client.post('/api/factors/password', { newPassword: 'a fresh passphrase' });
    expect(added.status).toBe(200);
    expect(added.body.factor).toMatchObject({ kind: 'password' });
    expect(JSON.stringify(added.body)).not.toContain('argon2');
    t.clock.advance(10 * 60);
    const stale = await client.post('/api/factors/password', { newPassword: 'another fresh passphrase' });
    expect(stale.status).toBe(403);
    expect(stale.body.error.code).toBe('step_up_required');
  });

  it('a change ends the other sessions, keeps this one, notifies and audits; the old password stops working', async () => {
    const client = t.client();
    const user = await signUpWithTotp(t, client);
    const elsewhere = t.client({ clientAddress: '198.51.100.9' });
    t.clock.advance(30);
    const ticket = await passwordStep(elsewhere, user.username, user.password);
    expect((await elsewhere.post('/api/signin/totp', { ticket, code: user.code() })).status).toBe(200);

    const changed = await client.post('/api/factors/password', { newPassword: 'the new passphrase' });
    expect(changed.status).toBe(200);
    expect(changed.body.endedSessions).toBe(1); // the one elsewhere; this one stays
    expect((await elsewhere.get('/api/session')).status).toBe(401);
    expect((await client.get('/api/session')).status).toBe(200);
    const notifications = await t.db.selectFrom('notifications').select('kind').where('user_id', '=', user.userId).execute();
    expect(notifications.map((row) => row.kind)).toContain('password_changed');

    t.clock.advance(30);
    const oldTicket = await passwordStep(t.client(), user.username, user.password);
    const viaOld = await t.client().post('/api/signin/totp', { ticket: oldTicket, code: user.code() });
    expect(viaOld.status).toBe(401);
    const fresh = t.client();
    const newTicket = await passwordStep(fresh, user.username, 'the new passphrase');
    expect((await fresh.post('/api/signin/totp', { ticket: newTicket, code: user.code() })).status).toBe(200);
  });

  it('a ticket won with the old password cannot finish after the password changed', async () => {
    const client = t.client();
    const user = await signUpWithTotp(t, client);
    const attacker = t.client({ clientAddress: '198.51.100.10' });
    const ticket = await passwordStep(attacker, user.username, user.password);
    expect((await client.post('/api/factors/password', { newPassword: 'changed in time passphrase' })).status).toBe(200);
    const response = await attacker.post('/api/signin/totp', { ticket, code: user.code() });
    expect(response.status).toBe(401);
    expect((await attacker.get('/api/session')).status).toBe(401);
  });

  it('a weak new password is refused', async () => {
    const client = t.client();
    await seedSignedInUser(t, client);
    const response = await client.post('/api/factors/password', { newPassword: 'qwerty123' });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('weak_password');
  });
});
