import { describe, expect, it } from 'vitest';
import { setPassword } from '../../src/auth/enroll/password.ts';
import { SECOND_FACTOR_METHODS, submitPassword, type PasswordStepResult } from '../../src/auth/sign-in/password.ts';
import { signInWithTotpCode } from '../../src/auth/sign-in/second-factor.ts';
import {
  ADDRESS,
  anonymous,
  auditRows,
  createFlows,
  findSession,
  notifications,
  rateLimit,
  sessionRow,
  signedInAs,
  signInTotp,
  signUpPasskeyUser,
  signUpTotpUser,
  sorted,
  uniqueUsername,
} from './helpers.ts';

const f = await createFlows();

/** Everything of a ticket answer the caller sees, but the ticket's own (random) value. */
function shape(result: PasswordStepResult) {
  expect(result.kind).toBe('ticket');
  if (result.kind !== 'ticket') throw new Error('not a ticket');
  return { keys: Object.keys(result).sort(), kind: result.kind, methods: result.methods, ticketType: typeof result.ticket, ticketLength: result.ticket.length };
}

describe('submitPassword (without HTTP)', () => {
  it('answers a ticket of the same shape for an unknown user, a wrong password, a user without a second factor and a right password', async () => {
    const withTotp = await signUpTotpUser(f);
    // A passkey user who later set a password: a password but no TOTP and no backup codes.
    const passkeyUser = await signUpPasskeyUser(f);
    await setPassword(f.deps, await signedInAs(f, passkeyUser.established), { newPassword: 'another fine password' });

    const unknown = await submitPassword(f.deps, anonymous(f), { username: uniqueUsername('nobody'), password: 'whatever it is', deviceToken: null });
    const wrong = await submitPassword(f.deps, anonymous(f), { username: withTotp.username, password: 'not the password', deviceToken: null });
    const noSecond = await submitPassword(f.deps, anonymous(f), { username: passkeyUser.username, password: 'another fine password', deviceToken: null });
    const right = await submitPassword(f.deps, anonymous(f), { username: withTotp.username, password: withTotp.password, deviceToken: null });

    const expected = shape(right);
    expect(expected.methods).toEqual([...SECOND_FACTOR_METHODS]);
    expect(shape(unknown)).toEqual(expected);
    expect(shape(wrong)).toEqual(expected);
    expect(shape(noSecond)).toEqual(expected);
    // Four different tickets.
    expect(new Set([unknown, wrong, noSecond, right].map((r) => (r.kind === 'ticket' ? r.ticket : '')) ).size).toBe(4);
  });

  it('audits every password attempt for the owner, unknown names included, and creates no session', async () => {
    const user = await signUpTotpUser(f);
    const sessionsBefore = await f.t.db.selectFrom('sessions').select('id').where('user_id', '=', user.user.id).execute();
    const ghost = uniqueUsername('ghost');
    await submitPassword(f.deps, anonymous(f), { username: user.username, password: 'not the password', deviceToken: null });
    await submitPassword(f.deps, anonymous(f), { username: user.username, password: user.password, deviceToken: null });
    const auditsBefore = (await auditRows(f, 'signin.password', null)).length;
    await submitPassword(f.deps, anonymous(f), { username: ghost, password: 'whatever it is', deviceToken: null });

    const own = await auditRows(f, 'signin.password', user.user.id);
    const password = await f.t.db.selectFrom('factors').select('id').where('user_id', '=', user.user.id).where('kind', '=', 'password').executeTakeFirstOrThrow();
    expect(own.map((row) => row.outcome)).toEqual(['failure', 'success']);
    expect(own.every((row) => row.factor_id === password.id && row.client_address === ADDRESS && row.user_agent === 'flow-test')).toBe(true);
    // The unknown name is audited too, about nobody.
    expect((await auditRows(f, 'signin.password', null)).length).toBe(auditsBefore + 1);
    // A password alone signs nobody in.
    const sessionsAfter = await f.t.db.selectFrom('sessions').select('id').where('user_id', '=', user.user.id).execute();
    expect(sessionsAfter.length).toBe(sessionsBefore.length);
  });

  it('a ticket from a wrong password never signs in, even with the right code, and its guesses count against the username, not the account', async () => {
    const user = await signUpTotpUser(f);
    const address = '192.0.2.31';
    const wrong = await submitPassword(f.deps, anonymous(f, address), { username: user.username, password: 'not the password', deviceToken: null });
    if (wrong.kind !== 'ticket') throw new Error('expected a ticket');
    await expect(signInWithTotpCode(f.deps, anonymous(f, address), { ticket: wrong.ticket, code: user.code(), rememberDevice: false })).rejects.toMatchObject({
      code: 'code_invalid',
    });
    // The account's own counters are untouched; a guesser's counter for this name has one.
    expect(await rateLimit(f, `2fa:account:totp:${user.user.id}:addr:${address}`)).toBeUndefined();
    const guesser = await f.t.db.selectFrom('rate_limits').selectAll().where('key', 'like', `2fa:account:totp:guess-%:addr:${address}`).execute();
    expect(guesser).toHaveLength(1);
    expect(guesser[0]!.count).toBe(1);
    // The right code was not spent: the owner still signs in with it.
    const owner = await submitPassword(f.deps, anonymous(f), { username: user.username, password: user.password, deviceToken: null });
    if (owner.kind !== 'ticket') throw new Error('expected a ticket');
    const signedIn = await signInWithTotpCode(f.deps, anonymous(f), { ticket: owner.ticket, code: user.code(), rememberDevice: false });
    expect(signedIn.user.id).toBe(user.user.id);
  });

  it('on a remembered browser a right password signs in: kind signed_in, a password + remembered-device session, audited and notified', async () => {
    const user = await signUpTotpUser(f);
    const first = await signInTotp(f, user, { rememberDevice: true });
    const deviceToken = first.result.rememberedDevice!.token;
    expect(deviceToken).toEqual(expect.any(String));
    const device = await f.t.db.selectFrom('remembered_devices').selectAll().where('user_id', '=', user.user.id).executeTakeFirstOrThrow();
    expect(device).toMatchObject({ user_agent: 'flow-test', last_used_at: null, revoked_at: null });

    f.t.clock.advance(60);
    const step = await submitPassword(f.deps, anonymous(f), { username: user.username, password: user.password, deviceToken });
    expect(step.kind).toBe('signed_in');
    if (step.kind !== 'signed_in') return;
    expect(step.user.id).toBe(user.user.id);
    const password = await f.t.db.selectFrom('factors').select('id').where('user_id', '=', user.user.id).where('kind', '=', 'password').executeTakeFirstOrThrow();
    const session = await sessionRow(f, step.established.session.id);
    expect(session).toMatchObject({ user_id: user.user.id, aal: 2, phishing_resistant: false, recovery: false, remembered_device_id: device.id, revoked_at: null });
    expect(sorted(session.amr)).toEqual(['pwd', 'remembered_device']);
    expect(session.factor_ids).toEqual([password.id]);
    expect((await findSession(f, step.established.token))?.session.id).toBe(session.id);

    const remembered = await auditRows(f, 'signin.remembered_device', user.user.id);
    expect(remembered).toHaveLength(1);
    expect(remembered[0]).toMatchObject({ outcome: 'success', factor_id: password.id, details: { deviceId: device.id, rehashed: false } });
    const created = (await auditRows(f, 'session.create', user.user.id)).filter((row) => row.session_id === session.id);
    expect(created).toHaveLength(1);
    expect(created[0]!.details).toMatchObject({ method: 'password_remembered_device', aal: 2 });
    expect((await notifications(f, user.user.id, 'new_sign_in')).some((n) => n.payload.sessionId === session.id)).toBe(true);
    const touched = await f.t.db.selectFrom('remembered_devices').select('last_used_at').where('id', '=', device.id).executeTakeFirstOrThrow();
    expect(touched.last_used_at?.getTime()).toBe(f.t.clock.now().getTime());
  });

  it('a device token with a wrong password, or another user\u2019s device token, gets a ticket and no session', async () => {
    const user = await signUpTotpUser(f);
    const other = await signUpTotpUser(f);
    const deviceToken = (await signInTotp(f, user, { rememberDevice: true })).result.rememberedDevice!.token;
    const before = await f.t.db.selectFrom('sessions').select('id').execute();

    const wrongPassword = await submitPassword(f.deps, anonymous(f), { username: user.username, password: 'not the password', deviceToken });
    expect(wrongPassword.kind).toBe('ticket');
    const othersToken = await submitPassword(f.deps, anonymous(f), { username: other.username, password: other.password, deviceToken });
    expect(othersToken.kind).toBe('ticket');
    expect((await f.t.db.selectFrom('sessions').select('id').execute()).length).toBe(before.length);
    expect(await auditRows(f, 'signin.remembered_device', other.user.id)).toHaveLength(0);
  });
});
