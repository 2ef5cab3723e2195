import { describe, expect, it } from 'vitest';
import { signInWithBackupCode, signInWithTotpCode } from '../../src/auth/sign-in/second-factor.ts';
import { TICKET_MAX_ATTEMPTS } from '../../src/auth/sign-in/password.ts';
import { submitPassword } from '../../src/auth/sign-in/password.ts';
import { perAddressRule } from '../../src/lockout/second-factor.ts';
import {
  activeFactor,
  anonymous,
  auditRows,
  createFlows,
  findSession,
  notifications,
  notTheCode,
  rateLimit,
  sessionRow,
  signInTotp,
  signUpTotpUser,
  sorted,
  ticketFor,
} from './helpers.ts';

const f = await createFlows();

describe('signInWithTotpCode (without HTTP)', () => {
  it('a right code establishes a two-factor session through completeSignIn, consumes the ticket and audits', async () => {
    const user = await signUpTotpUser(f);
    const password = await activeFactor(f, user.user.id, 'password');
    const totp = await activeFactor(f, user.user.id, 'totp');
    f.t.clock.advance(30);
    const ticket = await ticketFor(f, user);
    const signedIn = await signInWithTotpCode(f.deps, anonymous(f), { ticket, code: user.code(), rememberDevice: false });

    expect(signedIn.user.id).toBe(user.user.id);
    expect(signedIn.result.rememberedDevice).toBeNull();
    const session = await sessionRow(f, signedIn.established.session.id);
    expect(session).toMatchObject({ user_id: user.user.id, aal: 2, phishing_resistant: false, recovery: false, remembered_device_id: null, client_address: '192.0.2.1' });
    expect(sorted(session.amr)).toEqual(['otp', 'pwd']);
    expect(sorted(session.factor_ids)).toEqual(sorted([password.id, totp.id]));
    expect((await findSession(f, signedIn.established.token))?.user.id).toBe(user.user.id);

    const second = await auditRows(f, 'signin.second_factor', user.user.id);
    expect(second.map((row) => [row.outcome, row.factor_id, row.details.method])).toEqual([['success', totp.id, 'totp']]);
    const created = (await auditRows(f, 'session.create', user.user.id)).filter((row) => row.session_id === session.id);
    expect(created).toHaveLength(1);
    expect(created[0]!.details).toMatchObject({ method: 'password_totp', aal: 2, recovery: false });
    expect((await notifications(f, user.user.id, 'new_sign_in')).filter((n) => n.payload.sessionId === session.id)).toHaveLength(1);
    // The code's time step is spent.
    expect((await activeFactor(f, user.user.id, 'totp')).last_used_step).toBe(Math.floor(f.t.clock.now().getTime() / 30_000));

    // The ticket was consumed with the sign-in.
    await expect(signInWithTotpCode(f.deps, anonymous(f), { ticket, code: user.code(), rememberDevice: false })).rejects.toMatchObject({ code: 'ticket_invalid' });
    // And the same code does not work twice, even with a fresh ticket.
    await expect(signInWithTotpCode(f.deps, anonymous(f), { ticket: await ticketFor(f, user), code: user.code(), rememberDevice: false })).rejects.toMatchObject({
      code: 'code_invalid',
    });
  });

  it('rememberDevice: true returns a device token and stores only its hash', async () => {
    const user = await signUpTotpUser(f);
    const signedIn = await signInTotp(f, user, { rememberDevice: true });
    const token = signedIn.result.rememberedDevice!.token;
    const devices = await f.t.db.selectFrom('remembered_devices').selectAll().where('user_id', '=', user.user.id).execute();
    expect(devices).toHaveLength(1);
    expect(devices[0]!.token_hash).not.toContain(token);
    expect((await auditRows(f, 'remembered_device.add', user.user.id)).map((row) => row.details.deviceId)).toEqual([devices[0]!.id]);
  });

  it('a wrong code is code_invalid with the attempts left, audited as a failure, and counted before the check', async () => {
    const user = await signUpTotpUser(f);
    const address = '192.0.2.40';
    const ticket = await ticketFor(f, user, address);
    const sessionsBefore = (await f.t.db.selectFrom('sessions').select('id').where('user_id', '=', user.user.id).execute()).length;
    await expect(signInWithTotpCode(f.deps, anonymous(f, address), { ticket, code: notTheCode(user), rememberDevice: false })).rejects.toMatchObject({
      code: 'code_invalid',
      details: { attemptsLeft: TICKET_MAX_ATTEMPTS - 1 },
    });
    const failures = await auditRows(f, 'signin.second_factor', user.user.id);
    expect(failures.map((row) => [row.outcome, row.details.method, row.client_address])).toEqual([['failure', 'totp', address]]);
    expect((await rateLimit(f, `2fa:account:totp:${user.user.id}:addr:${address}`))?.count).toBe(1);
    expect((await rateLimit(f, `2fa:account:totp:${user.user.id}`))?.count).toBe(1);
    expect((await f.t.db.selectFrom('sessions').select('id').where('user_id', '=', user.user.id).execute()).length).toBe(sessionsBefore);

    // A right code afterwards gives the attempts back.
    await signInWithTotpCode(f.deps, anonymous(f, address), { ticket, code: user.code(), rememberDevice: false });
    expect(await rateLimit(f, `2fa:account:totp:${user.user.id}:addr:${address}`)).toBeUndefined();
  });

  it('a ticket allows three codes: after that even the right code is ticket_invalid', async () => {
    const user = await signUpTotpUser(f);
    const address = '192.0.2.41';
    const ticket = await ticketFor(f, user, address);
    for (let i = 0; i < TICKET_MAX_ATTEMPTS; i++) {
      await expect(signInWithTotpCode(f.deps, anonymous(f, address), { ticket, code: notTheCode(user), rememberDevice: false })).rejects.toMatchObject({
        code: 'code_invalid',
        details: { attemptsLeft: TICKET_MAX_ATTEMPTS - 1 - i },
      });
    }
    await expect(signInWithTotpCode(f.deps, anonymous(f, address), { ticket, code: user.code(), rememberDevice: false })).rejects.toMatchObject({
      code: 'ticket_invalid',
    });
    // The exhausted ticket claimed no lockout attempt: only the three codes were counted.
    expect((await rateLimit(f, `2fa:account:totp:${user.user.id}:addr:${address}`))?.count).toBe(TICKET_MAX_ATTEMPTS);
    expect((await f.t.db.selectFrom('sessions').select('id').where('user_id', '=', user.user.id).execute()).length).toBe(1);
  });

  it('five wrong codes from one address lock that address (the right code too); other addresses and backup codes still work', async () => {
    expect(perAddressRule).toMatchObject({ kind: 'cap', limit: 5 });
    const user = await signUpTotpUser(f);
    const attacker = '192.0.2.66';
    for (let i = 0; i < 5; i++) {
      await expect(signInWithTotpCode(f.deps, anonymous(f, attacker), { ticket: await ticketFor(f, user, attacker), code: notTheCode(user), rememberDevice: false })).rejects.toMatchObject({
        code: 'code_invalid',
      });
    }
    await expect(signInWithTotpCode(f.deps, anonymous(f, attacker), { ticket: await ticketFor(f, user, attacker), code: user.code(), rememberDevice: false })).rejects.toMatchObject({
      code: 'locked_out',
      details: { retryAfterSeconds: expect.any(Number) },
    });
    const counter = await rateLimit(f, `2fa:account:totp:${user.user.id}:addr:${attacker}`);
    expect(counter?.locked_until?.getTime()).toBeGreaterThan(f.t.clock.now().getTime());
    const denied = (await auditRows(f, 'signin.second_factor', user.user.id)).filter((row) => row.outcome === 'denied');
    expect(denied.map((row) => [row.client_address, row.details.reason])).toEqual([[attacker, 'locked_out']]);

    // Backup codes count on their own: a wrong one is checked (code_invalid), not refused.
    await expect(signInWithBackupCode(f.deps, anonymous(f, attacker), { ticket: await ticketFor(f, user, attacker), code: 'aaaaa-bbbbb-ccccc' })).rejects.toMatchObject({
      code: 'code_invalid',
    });
    // The owner's address is not locked.
    const owner = await signInWithTotpCode(f.deps, anonymous(f, '192.0.2.99'), { ticket: await ticketFor(f, user, '192.0.2.99'), code: user.code(), rememberDevice: false });
    expect(owner.user.id).toBe(user.user.id);
    // After fifteen minutes the address may try again.
    f.t.clock.advance(perAddressRule.kind === 'cap' ? perAddressRule.lockoutSeconds + 1 : 0);
    const later = await signInWithTotpCode(f.deps, anonymous(f, attacker), { ticket: await ticketFor(f, user, attacker), code: user.code(), rememberDevice: false });
    expect(later.user.id).toBe(user.user.id);
  });
});

describe('signInWithBackupCode (without HTTP)', () => {
  it('a backup code is a recovery sign-in: two factors, recovery flag, the code spent, remembered browsers forgotten, audited and notified', async () => {
    const user = await signUpTotpUser(f);
    const password = await activeFactor(f, user.user.id, 'password');
    const backup = await activeFactor(f, user.user.id, 'backup_codes');
    // A remembered browser and the session it signed in.
    const deviceToken = (await signInTotp(f, user, { rememberDevice: true })).result.rememberedDevice!.token;
    const onDevice = await submitPassword(f.deps, anonymous(f), { username: user.username, password: user.password, deviceToken });
    if (onDevice.kind !== 'signed_in') throw new Error('expected a remembered-device sign-in');

    const recovered = await signInWithBackupCode(f.deps, anonymous(f), { ticket: await ticketFor(f, user), code: user.backupCodes[0]! });
    expect(recovered.result.remaining).toBe(user.backupCodes.length - 1);
    const session = await sessionRow(f, recovered.established.session.id);
    expect(session).toMatchObject({ aal: 2, recovery: true, phishing_resistant: false });
    expect(sorted(session.amr)).toEqual(['backup_code', 'pwd']);
    expect(sorted(session.factor_ids)).toEqual(sorted([password.id, backup.id]));

    expect((await auditRows(f, 'backup_code.use', user.user.id)).map((row) => row.details)).toEqual([{ remaining: user.backupCodes.length - 1, forgottenDevices: 1, endedSessions: 1 }]);
    expect((await auditRows(f, 'signin.second_factor', user.user.id)).filter((row) => row.outcome === 'success').at(-1)).toMatchObject({
      factor_id: backup.id,
      details: { method: 'backup_code' },
    });
    expect((await auditRows(f, 'session.create', user.user.id)).at(-1)).toMatchObject({ session_id: session.id, details: { method: 'password_backup_code', recovery: true } });
    expect((await notifications(f, user.user.id, 'backup_code_used')).map((n) => n.payload)).toEqual([{ remaining: user.backupCodes.length - 1 }]);
    // The remembered browser and its session are gone.
    expect((await f.t.db.selectFrom('remembered_devices').select('revoked_at').where('user_id', '=', user.user.id).executeTakeFirstOrThrow()).revoked_at).not.toBeNull();
    expect(await findSession(f, onDevice.established.token)).toBeNull();
    expect((await sessionRow(f, onDevice.established.session.id)).revoked_reason).toBe('device_forgotten');

    // A code works once.
    await expect(signInWithBackupCode(f.deps, anonymous(f), { ticket: await ticketFor(f, user), code: user.backupCodes[0]! })).rejects.toMatchObject({ code: 'code_invalid' });
  });

  it('a wrong backup code is code_invalid and audited; a wrong password\u2019s ticket refuses a right code', async () => {
    const user = await signUpTotpUser(f);
    await expect(signInWithBackupCode(f.deps, anonymous(f), { ticket: await ticketFor(f, user), code: 'aaaaa-bbbbb-ccccc' })).rejects.toMatchObject({
      code: 'code_invalid',
      details: { attemptsLeft: TICKET_MAX_ATTEMPTS - 1 },
    });
    expect((await auditRows(f, 'signin.second_factor', user.user.id)).map((row) => [row.outcome, row.details.method])).toEqual([['failure', 'backup_code']]);
    await expect(signInWithBackupCode(f.deps, anonymous(f), { ticket: await ticketFor(f, user, undefined, 'not the password'), code: user.backupCodes[1]! })).rejects.toMatchObject({
      code: 'code_invalid',
    });
    // Neither spent a code.
    expect(await f.t.db.selectFrom('backup_codes').select('id').where('used_at', 'is not', null).where('factor_id', '=', (await activeFactor(f, user.user.id, 'backup_codes')).id).execute()).toHaveLength(0);
  });

  it('a ticket that ran out is ticket_invalid for backup codes too', async () => {
    const user = await signUpTotpUser(f);
    const ticket = await ticketFor(f, user, '192.0.2.42');
    for (let i = 0; i < TICKET_MAX_ATTEMPTS; i++) {
      await expect(signInWithBackupCode(f.deps, anonymous(f, '192.0.2.42'), { ticket, code: 'aaaaa-bbbbb-ccccc' })).rejects.toMatchObject({ code: 'code_invalid' });
    }
    await expect(signInWithBackupCode(f.deps, anonymous(f, '192.0.2.42'), { ticket, code: user.backupCodes[0]! })).rejects.toMatchObject({ code: 'ticket_invalid' });
    // An expired ticket too: five minutes.
    const stale = await ticketFor(f, user);
    f.t.clock.advance(5 * 60 + 1);
    await expect(signInWithBackupCode(f.deps, anonymous(f), { ticket: stale, code: user.backupCodes[0]! })).rejects.toMatchObject({ code: 'ticket_invalid' });
  });
});
