import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { removeOwnFactor, renameOwnFactor } from '../../src/auth/manage/factors.ts';
import { currentDeviceId, forgetRememberedBrowsers } from '../../src/auth/manage/remembered-devices.ts';
import { endOtherSessions, endOwnSession, signOut } from '../../src/auth/manage/sessions.ts';
import { submitPassword } from '../../src/auth/sign-in/password.ts';
import { stepUpWithTotp } from '../../src/auth/step-up.ts';
import { SoftAuthenticator } from '../helpers/soft-authenticator.ts';
import {
  activeFactor,
  addPasskey,
  addTotp,
  anonymous,
  auditRows,
  createFlows,
  expectNoSession,
  factorsOf,
  findSession,
  notifications,
  passkeySignIn,
  sessionRow,
  signedInAs,
  signInTotp,
  signUpPasskeyUser,
  signUpTotpUser,
} from './helpers.ts';

const f = await createFlows();

describe('renameOwnFactor (without HTTP)', () => {
  it('relabels one of the user\u2019s factors and audits it; another user\u2019s factor is factor_not_found', async () => {
    const user = await signUpPasskeyUser(f);
    const other = await signUpPasskeyUser(f);
    const passkey = await activeFactor(f, user.user.id, 'passkey');
    const renamed = await renameOwnFactor(f.deps, await signedInAs(f, user.established), { factorId: passkey.id, label: 'Work laptop' });
    expect(renamed).toMatchObject({ id: passkey.id, label: 'Work laptop' });
    expect((await activeFactor(f, user.user.id, 'passkey')).label).toBe('Work laptop');
    expect((await auditRows(f, 'factor.rename', user.user.id)).map((row) => [row.factor_id, row.session_id, row.details])).toEqual([
      [passkey.id, user.established.session.id, { kind: 'passkey', label: 'Work laptop' }],
    ]);

    const othersPasskey = await activeFactor(f, other.user.id, 'passkey');
    await expect(renameOwnFactor(f.deps, await signedInAs(f, user.established), { factorId: othersPasskey.id, label: 'Mine now' })).rejects.toMatchObject({
      code: 'factor_not_found',
    });
    expect((await activeFactor(f, other.user.id, 'passkey')).label).toBe(othersPasskey.label);
  });

  it('after fifteen minutes it needs a step-up', async () => {
    const user = await signUpPasskeyUser(f);
    const passkey = await activeFactor(f, user.user.id, 'passkey');
    f.t.clock.advance(16 * 60);
    await expect(renameOwnFactor(f.deps, await signedInAs(f, user.established), { factorId: passkey.id, label: 'Late' })).rejects.toMatchObject({
      code: 'step_up_required',
      details: { maxAgeSeconds: 900 },
    });
    expect((await activeFactor(f, user.user.id, 'passkey')).label).toBe(passkey.label);
  });
});

describe('removeOwnFactor (without HTTP)', () => {
  it('revokes the factor through the one revocation path: sessions it elevated end, audited and notified', async () => {
    const user = await signUpPasskeyUser(f);
    const app = await addTotp(f, await signedInAs(f, user.established));
    // Another session steps up with the app: it now rests on it.
    const other = await passkeySignIn(f, user);
    const elevated = await stepUpWithTotp(f.deps, await signedInAs(f, other.established), { code: app.code() });

    const removed = await removeOwnFactor(f.deps, await signedInAs(f, user.established), { factorId: app.factor.id });
    expect(removed).toMatchObject({ factor: { id: app.factor.id, status: 'revoked', revoked_reason: 'removed_by_user' }, endedSessions: 1, signedOut: false });
    await expectNoSession(f, elevated.token);
    expect(await sessionRow(f, elevated.session.id)).toMatchObject({ revoked_reason: 'factor_revoked' });
    expect((await findSession(f, user.established.token))?.session.id).toBe(user.established.session.id);
    expect((await auditRows(f, 'factor.revoke', user.user.id)).map((row) => [row.outcome, row.factor_id, row.details.kind, row.details.endedSessions])).toEqual([
      ['success', app.factor.id, 'totp', 1],
    ]);
    expect((await notifications(f, user.user.id, 'factor_removed')).map((n) => n.payload)).toEqual([expect.objectContaining({ factorId: app.factor.id, kind: 'totp', byAdmin: false })]);
  });

  it('refuses the last way to sign in (last_factor), and the refusal\u2019s audit row stays', async () => {
    const user = await signUpPasskeyUser(f);
    const passkey = await activeFactor(f, user.user.id, 'passkey');
    await expect(removeOwnFactor(f.deps, await signedInAs(f, user.established), { factorId: passkey.id })).rejects.toMatchObject({ code: 'last_factor' });
    expect((await activeFactor(f, user.user.id, 'passkey')).id).toBe(passkey.id);
    expect((await auditRows(f, 'factor.revoke', user.user.id)).map((row) => [row.outcome, row.factor_id, row.details.reason])).toEqual([['denied', passkey.id, 'last_factor']]);
    expect(await notifications(f, user.user.id, 'factor_removed')).toHaveLength(0);
    expect((await findSession(f, user.established.token))?.session.id).toBe(user.established.session.id);
  });

  it('removing the passkey this session was signed in with signs it out', async () => {
    const user = await signUpPasskeyUser(f);
    const secondKey = new SoftAuthenticator();
    const added = await addPasskey(f, await signedInAs(f, user.established), secondKey);
    const onSecondKey = await passkeySignIn(f, user, secondKey);
    expect(onSecondKey.established.session.factor_ids).toEqual([added.id]);

    const removed = await removeOwnFactor(f.deps, await signedInAs(f, onSecondKey.established), { factorId: added.id });
    expect(removed).toMatchObject({ signedOut: true, endedSessions: 1 });
    await expectNoSession(f, onSecondKey.established.token);
    // The session it was added in did not rest on it.
    expect((await findSession(f, user.established.token))?.session.id).toBe(user.established.session.id);
  });

  it('an unknown factor is factor_not_found; a stale session needs a step-up', async () => {
    const user = await signUpTotpUser(f);
    await expect(removeOwnFactor(f.deps, await signedInAs(f, user.established), { factorId: randomUUID() })).rejects.toMatchObject({ code: 'factor_not_found' });
    const backup = await activeFactor(f, user.user.id, 'backup_codes');
    f.t.clock.advance(6 * 60);
    await expect(removeOwnFactor(f.deps, await signedInAs(f, user.established), { factorId: backup.id })).rejects.toMatchObject({
      code: 'step_up_required',
      details: { methods: ['totp'] },
    });
    expect((await factorsOf(f, user.user.id)).every((factor) => factor.status === 'active')).toBe(true);
  });
});

describe('signOut / endOwnSession / endOtherSessions (without HTTP)', () => {
  it('signOut ends this session and audits it', async () => {
    const user = await signUpPasskeyUser(f);
    const requester = await signedInAs(f, user.established);
    await signOut(f.deps, requester);
    await expectNoSession(f, user.established.token);
    expect(await sessionRow(f, user.established.session.id)).toMatchObject({ revoked_reason: 'signed_out', revoked_at: requester.now });
    expect((await auditRows(f, 'session.sign_out', user.user.id)).map((row) => [row.outcome, row.session_id])).toEqual([['success', user.established.session.id]]);
  });

  it('endOwnSession ends another of the user\u2019s sessions, or this one (signing out); not someone else\u2019s', async () => {
    const user = await signUpPasskeyUser(f);
    const stranger = await signUpPasskeyUser(f);
    const second = await passkeySignIn(f, user);

    expect(await endOwnSession(f.deps, await signedInAs(f, second.established), { sessionId: user.established.session.id })).toEqual({ signedOut: false });
    await expectNoSession(f, user.established.token);
    expect(await sessionRow(f, user.established.session.id)).toMatchObject({ revoked_reason: 'ended_by_user' });
    expect((await auditRows(f, 'session.end', user.user.id)).map((row) => [row.session_id, row.details])).toEqual([
      [second.established.session.id, { endedSessionId: user.established.session.id }],
    ]);

    await expect(endOwnSession(f.deps, await signedInAs(f, second.established), { sessionId: stranger.established.session.id })).rejects.toMatchObject({
      code: 'session_not_found',
    });
    expect((await findSession(f, stranger.established.token))?.user.id).toBe(stranger.user.id);

    expect(await endOwnSession(f.deps, await signedInAs(f, second.established), { sessionId: second.established.session.id })).toEqual({ signedOut: true });
    await expectNoSession(f, second.established.token);
  });

  it('ending another session needs a fresh proof; ending this one does not', async () => {
    const user = await signUpPasskeyUser(f);
    const second = await passkeySignIn(f, user);
    f.t.clock.advance(16 * 60);
    await expect(endOwnSession(f.deps, await signedInAs(f, second.established), { sessionId: user.established.session.id })).rejects.toMatchObject({
      code: 'step_up_required',
    });
    expect((await findSession(f, user.established.token))?.session.id).toBe(user.established.session.id);
    expect(await endOwnSession(f.deps, await signedInAs(f, second.established), { sessionId: second.established.session.id })).toEqual({ signedOut: true });
  });

  it('endOtherSessions ends every other session of the user and keeps this one', async () => {
    const user = await signUpPasskeyUser(f);
    const stranger = await signUpPasskeyUser(f);
    const second = await passkeySignIn(f, user);
    const third = await passkeySignIn(f, user);
    expect(await endOtherSessions(f.deps, await signedInAs(f, third.established))).toEqual({ ended: 2 });
    await expectNoSession(f, user.established.token);
    await expectNoSession(f, second.established.token);
    expect((await sessionRow(f, second.established.session.id)).revoked_reason).toBe('ended_by_user');
    expect((await findSession(f, third.established.token))?.session.id).toBe(third.established.session.id);
    expect((await findSession(f, stranger.established.token))?.user.id).toBe(stranger.user.id);
    expect((await auditRows(f, 'session.revoke_others', user.user.id)).map((row) => [row.session_id, row.details])).toEqual([[third.established.session.id, { ended: 2 }]]);

    f.t.clock.advance(16 * 60);
    await expect(endOtherSessions(f.deps, await signedInAs(f, third.established))).rejects.toMatchObject({ code: 'step_up_required' });
  });
});

describe('forgetRememberedBrowsers (without HTTP)', () => {
  it('forgets one browser or all, ends the sessions they signed in, keeps the asking one, and says whether this browser was forgotten', async () => {
    const user = await signUpTotpUser(f);
    const here = await signInTotp(f, user, { rememberDevice: true });
    const hereToken = here.result.rememberedDevice!.token;
    const there = await signInTotp(f, user, { rememberDevice: true, clientAddress: '198.51.100.30' });
    const thereToken = there.result.rememberedDevice!.token;
    const requester = await signedInAs(f, here.established);
    const hereId = await currentDeviceId(f.deps, requester, hereToken);
    const thereId = await currentDeviceId(f.deps, requester, thereToken);
    expect(hereId).toEqual(expect.any(String));
    expect(thereId).not.toBe(hereId);
    // A session the other browser signed in by itself (password + device token).
    const onThere = await submitPassword(f.deps, anonymous(f, '198.51.100.30'), { username: user.username, password: user.password, deviceToken: thereToken });
    if (onThere.kind !== 'signed_in') throw new Error('expected a remembered-device sign-in');

    const one = await forgetRememberedBrowsers(f.deps, await signedInAs(f, here.established), { deviceId: thereId, deviceToken: hereToken });
    expect(one).toEqual({ forgotten: 1, endedSessions: 1, forgotThisBrowser: false });
    await expectNoSession(f, onThere.established.token);
    expect((await sessionRow(f, onThere.established.session.id)).revoked_reason).toBe('device_forgotten');
    expect(await currentDeviceId(f.deps, await signedInAs(f, here.established), thereToken)).toBeNull();
    expect(await currentDeviceId(f.deps, await signedInAs(f, here.established), hereToken)).toBe(hereId);

    const all = await forgetRememberedBrowsers(f.deps, await signedInAs(f, here.established), { deviceId: null, deviceToken: hereToken });
    expect(all).toEqual({ forgotten: 1, endedSessions: 0, forgotThisBrowser: true });
    expect((await findSession(f, here.established.token))?.session.id).toBe(here.established.session.id);
    expect((await auditRows(f, 'remembered_device.forget', user.user.id)).map((row) => row.details)).toEqual([
      { deviceIds: [thereId], all: false, endedSessions: 1 },
      { deviceIds: [hereId], all: true, endedSessions: 0 },
    ]);
    // Forgotten: the password alone gets a ticket again.
    expect((await submitPassword(f.deps, anonymous(f), { username: user.username, password: user.password, deviceToken: hereToken })).kind).toBe('ticket');
  });

  it('an unknown browser is remembered_device_not_found; a session the browser itself signed in must step up first', async () => {
    const user = await signUpTotpUser(f);
    const here = await signInTotp(f, user, { rememberDevice: true });
    const token = here.result.rememberedDevice!.token;
    await expect(forgetRememberedBrowsers(f.deps, await signedInAs(f, here.established), { deviceId: randomUUID(), deviceToken: token })).rejects.toMatchObject({
      code: 'remembered_device_not_found',
    });
    expect(await auditRows(f, 'remembered_device.forget', user.user.id)).toHaveLength(0);

    const onDevice = await submitPassword(f.deps, anonymous(f), { username: user.username, password: user.password, deviceToken: token });
    if (onDevice.kind !== 'signed_in') throw new Error('expected a remembered-device sign-in');
    await expect(forgetRememberedBrowsers(f.deps, await signedInAs(f, onDevice.established), { deviceId: null, deviceToken: token })).rejects.toMatchObject({
      code: 'step_up_required',
      details: { methods: ['totp'] },
    });
    expect(await currentDeviceId(f.deps, await signedInAs(f, here.established), token)).not.toBeNull();
  });
});

describe('ids that are not ids, and no session (entry points without HTTP validation)', () => {
  it('a malformed factor, session or browser id answers not-found, never a database error', async () => {
    const user = await signUpTotpUser(f);
    const requester = await signedInAs(f, user.established);
    await expect(renameOwnFactor(f.deps, requester, { factorId: 'nope', label: 'x' })).rejects.toMatchObject({ code: 'factor_not_found' });
    await expect(removeOwnFactor(f.deps, requester, { factorId: "1' or '1'='1" })).rejects.toMatchObject({ code: 'factor_not_found' });
    await expect(endOwnSession(f.deps, requester, { sessionId: 'not-a-uuid' })).rejects.toMatchObject({ code: 'session_not_found' });
    await expect(forgetRememberedBrowsers(f.deps, requester, { deviceId: 'x', deviceToken: null })).rejects.toMatchObject({ code: 'remembered_device_not_found' });
    expect((await factorsOf(f, user.user.id)).every((factor) => factor.status === 'active')).toBe(true);
  });

  it('a flow that needs a session, called without one, answers unauthenticated', async () => {
    await expect(signOut(f.deps, anonymous(f))).rejects.toMatchObject({ code: 'unauthenticated' });
    await expect(endOtherSessions(f.deps, anonymous(f))).rejects.toMatchObject({ code: 'unauthenticated' });
  });
});
