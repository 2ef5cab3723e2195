import { describe, expect, it } from 'vitest';
import { signInWithPasskey, startSignInWithPasskey } from '../../src/auth/sign-in/passkey.ts';
import { signUpWithPasskey, startSignUpWithPasskey } from '../../src/auth/sign-up/passkey.ts';
import { SoftAuthenticator } from '../helpers/soft-authenticator.ts';
import {
  activeFactor,
  anonymous,
  auditRows,
  createFlows,
  expectNoSession,
  findSession,
  notifications,
  sessionRow,
  signedInAs,
  signUpPasskeyUser,
  sorted,
  uniqueUsername,
} from './helpers.ts';

const f = await createFlows();

describe('startSignUpWithPasskey / signUpWithPasskey (without HTTP)', () => {
  it('creates the user and the passkey, establishes a phishing-resistant session, audits and notifies', async () => {
    const authenticator = new SoftAuthenticator();
    const username = uniqueUsername('Signup');
    const started = await startSignUpWithPasskey(f.deps, f.rp, anonymous(f), { username, displayName: 'Ada' });
    expect(started.options.rp.id).toBe(f.rp.id);
    expect(started.options.user.name).toBe(username.toLowerCase());
    // Nobody exists before the passkey is verified.
    expect(await f.t.db.selectFrom('users').select('id').where('username', '=', username.toLowerCase()).executeTakeFirst()).toBeUndefined();

    const done = await signUpWithPasskey(f.deps, f.rp, anonymous(f), { ceremonyId: started.ceremonyId, response: authenticator.register(started.options), label: 'Laptop' });
    expect(done.user).toMatchObject({ username: username.toLowerCase(), display_name: 'Ada', status: 'active' });
    const passkey = await activeFactor(f, done.user.id, 'passkey');
    expect(passkey).toMatchObject({ credential_id: authenticator.credentials[0]!.id, label: 'Laptop', user_verified: true, bound_session_id: null });

    const session = await sessionRow(f, done.established.session.id);
    expect(session).toMatchObject({ user_id: done.user.id, aal: 2, phishing_resistant: true, factor_ids: [passkey.id] });
    expect(sorted(session.amr)).toEqual(['passkey', 'uv']);
    expect((await findSession(f, done.established.token))?.user.id).toBe(done.user.id);

    expect((await auditRows(f, 'passkey.signup', done.user.id)).map((row) => [row.outcome, row.factor_id, row.session_id])).toEqual([['success', passkey.id, session.id]]);
    expect((await auditRows(f, 'session.create', done.user.id)).map((row) => row.session_id)).toEqual([session.id]);
    expect((await notifications(f, done.user.id, 'new_sign_in')).map((n) => n.payload.sessionId)).toEqual([session.id]);
  });

  it('refuses a taken username at the start, and a used ceremony at the end (audited as a failure)', async () => {
    const existing = await signUpPasskeyUser(f);
    await expect(startSignUpWithPasskey(f.deps, f.rp, anonymous(f), { username: existing.username, displayName: null })).rejects.toMatchObject({ code: 'username_taken' });

    const authenticator = new SoftAuthenticator();
    const started = await startSignUpWithPasskey(f.deps, f.rp, anonymous(f), { username: uniqueUsername(), displayName: null });
    const response = authenticator.register(started.options);
    const done = await signUpWithPasskey(f.deps, f.rp, anonymous(f), { ceremonyId: started.ceremonyId, response, label: null });
    const failuresBefore = (await auditRows(f, 'passkey.signup')).filter((row) => row.outcome === 'failure').length;
    await expect(signUpWithPasskey(f.deps, f.rp, anonymous(f), { ceremonyId: started.ceremonyId, response, label: null })).rejects.toMatchObject({
      code: 'ceremony_invalid',
    });
    const failures = (await auditRows(f, 'passkey.signup')).filter((row) => row.outcome === 'failure');
    expect(failures.length).toBe(failuresBefore + 1);
    expect(failures.at(-1)!.details).toMatchObject({ reason: 'ceremony_invalid' });
    expect((await f.t.db.selectFrom('sessions').select('id').where('user_id', '=', done.user.id).execute()).length).toBe(1);
  });

  it('a tampered attestation (wrong origin) creates nobody', async () => {
    const username = uniqueUsername();
    const started = await startSignUpWithPasskey(f.deps, f.rp, anonymous(f), { username, displayName: null });
    await expect(
      signUpWithPasskey(f.deps, f.rp, anonymous(f), { ceremonyId: started.ceremonyId, response: new SoftAuthenticator().register(started.options, { origin: 'https://evil.example' }), label: null }),
    ).rejects.toMatchObject({ code: 'passkey_verification_failed' });
    expect(await f.t.db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst()).toBeUndefined();
  });
});

describe('startSignInWithPasskey / signInWithPasskey (without HTTP)', () => {
  it('discoverable sign-in: a new session on the passkey, the counter stored, audited with the new session', async () => {
    const user = await signUpPasskeyUser(f);
    const passkey = await activeFactor(f, user.user.id, 'passkey');
    const started = await startSignInWithPasskey(f.deps, f.rp, anonymous(f), { username: null });
    expect(started.options.allowCredentials ?? []).toEqual([]);
    const signedIn = await signInWithPasskey(f.deps, f.rp, anonymous(f), { ceremonyId: started.ceremonyId, response: user.authenticator.assert(started.options) });

    expect(signedIn.user.id).toBe(user.user.id);
    const session = await sessionRow(f, signedIn.established.session.id);
    expect(session).toMatchObject({ aal: 2, phishing_resistant: true, factor_ids: [passkey.id] });
    expect((await activeFactor(f, user.user.id, 'passkey')).sign_count).toBe(user.authenticator.credentials[0]!.signCount);
    expect((await auditRows(f, 'passkey.signin', user.user.id)).map((row) => [row.outcome, row.factor_id, row.session_id, row.details.userVerified])).toEqual([
      ['success', passkey.id, session.id, true],
    ]);
    expect((await notifications(f, user.user.id, 'new_sign_in')).map((n) => n.payload)).toContainEqual(expect.objectContaining({ sessionId: session.id, method: 'passkey' }));
  });

  it('identified sign-in names the user\u2019s credentials; another user\u2019s passkey does not answer for them', async () => {
    const alice = await signUpPasskeyUser(f);
    const bob = await signUpPasskeyUser(f);
    const started = await startSignInWithPasskey(f.deps, f.rp, anonymous(f), { username: alice.username });
    expect(started.options.allowCredentials?.map((c) => c.id)).toEqual([alice.authenticator.credentials[0]!.id]);
    await expect(
      signInWithPasskey(f.deps, f.rp, anonymous(f), { ceremonyId: started.ceremonyId, response: bob.authenticator.assert(started.options, { credential: bob.authenticator.credentials[0]! }) }),
    ).rejects.toMatchObject({ code: 'passkey_verification_failed' });
    expect((await auditRows(f, 'passkey.signin', alice.user.id)).map((row) => [row.outcome, row.details.reason])).toEqual([['failure', 'credential_of_another_user']]);

    const again = await startSignInWithPasskey(f.deps, f.rp, anonymous(f), { username: alice.username });
    const signedIn = await signInWithPasskey(f.deps, f.rp, anonymous(f), { ceremonyId: again.ceremonyId, response: alice.authenticator.assert(again.options) });
    expect(signedIn.user.id).toBe(alice.user.id);
  });

  it('a passkey without user verification signs in at one factor', async () => {
    const user = await signUpPasskeyUser(f, { uv: false });
    const started = await startSignInWithPasskey(f.deps, f.rp, anonymous(f), { username: null });
    const signedIn = await signInWithPasskey(f.deps, f.rp, anonymous(f), { ceremonyId: started.ceremonyId, response: user.authenticator.assert(started.options) });
    const session = await sessionRow(f, signedIn.established.session.id);
    expect(session).toMatchObject({ aal: 1, phishing_resistant: false, amr: ['passkey'] });
  });

  it('a bad signature is refused and audited; the ceremony stays consumed; no session is made', async () => {
    const user = await signUpPasskeyUser(f);
    const started = await startSignInWithPasskey(f.deps, f.rp, anonymous(f), { username: null });
    await expect(
      signInWithPasskey(f.deps, f.rp, anonymous(f), { ceremonyId: started.ceremonyId, response: user.authenticator.assert(started.options, { corruptSignature: true }) }),
    ).rejects.toMatchObject({ code: 'passkey_verification_failed' });
    expect((await auditRows(f, 'passkey.signin', user.user.id)).map((row) => [row.outcome, row.details.reason])).toEqual([['failure', 'signature_invalid']]);
    await expect(
      signInWithPasskey(f.deps, f.rp, anonymous(f), { ceremonyId: started.ceremonyId, response: user.authenticator.assert(started.options) }),
    ).rejects.toMatchObject({ code: 'ceremony_invalid' });
    expect((await f.t.db.selectFrom('sessions').select('id').where('user_id', '=', user.user.id).execute()).length).toBe(1);
  });

  it('signing in from a browser that already had a session ends that session', async () => {
    const user = await signUpPasskeyUser(f);
    const requester = await signedInAs(f, user.established);
    const started = await startSignInWithPasskey(f.deps, f.rp, requester, { username: null });
    const signedIn = await signInWithPasskey(f.deps, f.rp, requester, { ceremonyId: started.ceremonyId, response: user.authenticator.assert(started.options) });
    expect(signedIn.established.session.id).not.toBe(user.established.session.id);
    await expectNoSession(f, user.established.token);
    expect(await sessionRow(f, user.established.session.id)).toMatchObject({ revoked_reason: 'signed_out' });
    expect((await findSession(f, signedIn.established.token))?.session.id).toBe(signedIn.established.session.id);
  });
});
