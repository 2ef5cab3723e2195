import { describe, expect, it } from 'vitest';
import { completeSignIn } from '../../src/auth/complete-sign-in.ts';
import { signInWithTotpCode } from '../../src/auth/sign-in/second-factor.ts';
import {
  activeFactor,
  anonymous,
  auditRows,
  count,
  createFlows,
  expectNoSession,
  findSession,
  notifications,
  sessionRow,
  signedInAs,
  signUpPasskeyUser,
  signUpTotpUser,
  sorted,
  ticketFor,
} from './helpers.ts';

const f = await createFlows();

describe('completeSignIn (without HTTP)', () => {
  it('ends the requester\u2019s session, creates the new one, audits session.create and queues new_sign_in', async () => {
    const user = await signUpPasskeyUser(f);
    const passkey = await activeFactor(f, user.user.id, 'passkey');
    f.t.clock.advance(60);
    const requester = { ...(await signedInAs(f, user.established, '198.51.100.7')), requestId: 'req-42' };

    const established = await f.t.db.transaction().execute((trx) =>
      completeSignIn(trx, f.deps, requester, { user: user.user, proof: { method: 'passkey', passkeyFactorId: passkey.id, userVerified: true } }),
    );

    expect(established.session.id).not.toBe(user.established.session.id);
    expect(await sessionRow(f, user.established.session.id)).toMatchObject({ revoked_reason: 'signed_out', revoked_at: requester.now });
    await expectNoSession(f, user.established.token);
    const session = await sessionRow(f, established.session.id);
    expect(session).toMatchObject({
      user_id: user.user.id,
      aal: 2,
      phishing_resistant: true,
      factor_ids: [passkey.id],
      client_address: '198.51.100.7',
      user_agent: 'flow-test',
      created_at: requester.now,
      last_verified_at: requester.now,
      stepped_up_at: null,
      revoked_at: null,
    });
    expect(sorted(session.amr)).toEqual(['passkey', 'uv']);
    expect((await findSession(f, established.token))?.session.id).toBe(session.id);

    const audit = (await auditRows(f, 'session.create', user.user.id)).filter((row) => row.session_id === session.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      outcome: 'success',
      actor_user_id: user.user.id,
      client_address: '198.51.100.7',
      request_id: 'req-42',
      details: { method: 'passkey', aal: 2, amr: ['passkey', 'uv'], recovery: false },
    });
    const notified = (await notifications(f, user.user.id, 'new_sign_in')).filter((n) => n.payload.sessionId === session.id);
    expect(notified).toHaveLength(1);
    expect(notified[0]!.payload).toEqual({ sessionId: session.id, method: 'passkey' });
    expect(notified[0]).toMatchObject({ client_address: '198.51.100.7', user_agent: 'flow-test' });
    expect(notified[0]!.sent_at).toBeNull();
  });

  it('is all in the caller\u2019s transaction: when it rolls back, the old session lives and nothing was written', async () => {
    const user = await signUpPasskeyUser(f);
    const passkey = await activeFactor(f, user.user.id, 'passkey');
    const requester = await signedInAs(f, user.established);
    const before = { sessions: await count(f, 'sessions'), audit: await count(f, 'audit_events'), notifications: await count(f, 'notifications') };

    await expect(
      f.t.db.transaction().execute(async (trx) => {
        await completeSignIn(trx, f.deps, requester, { user: user.user, proof: { method: 'passkey', passkeyFactorId: passkey.id, userVerified: true } });
        throw new Error('the flow failed after completeSignIn');
      }),
    ).rejects.toThrow('the flow failed after completeSignIn');

    expect({ sessions: await count(f, 'sessions'), audit: await count(f, 'audit_events'), notifications: await count(f, 'notifications') }).toEqual(before);
    expect(await sessionRow(f, user.established.session.id)).toMatchObject({ revoked_at: null });
    expect((await findSession(f, user.established.token))?.session.id).toBe(user.established.session.id);
  });

  it('with nobody signed in it revokes nothing; what the proof is worth comes from the policy', async () => {
    const user = await signUpTotpUser(f);
    const password = await activeFactor(f, user.user.id, 'password');
    const backup = await activeFactor(f, user.user.id, 'backup_codes');
    const live = (await f.t.db.selectFrom('sessions').select('id').where('revoked_at', 'is', null).execute()).length;
    const established = await f.t.db.transaction().execute((trx) =>
      completeSignIn(trx, f.deps, anonymous(f), { user: user.user, proof: { method: 'password_backup_code', passwordFactorId: password.id, backupCodesFactorId: backup.id } }),
    );
    expect((await f.t.db.selectFrom('sessions').select('id').where('revoked_at', 'is', null).execute()).length).toBe(live + 1);
    const session = await sessionRow(f, established.session.id);
    expect(session).toMatchObject({ aal: 2, recovery: true, phishing_resistant: false });
    expect(sorted(session.factor_ids)).toEqual(sorted([password.id, backup.id]));
    expect((await auditRows(f, 'session.create', user.user.id)).at(-1)!.details).toMatchObject({ method: 'password_backup_code', recovery: true });
  });

  it('every sign-in flow ends there: a TOTP sign-in from a signed-in browser replaces its session', async () => {
    const user = await signUpTotpUser(f);
    const requester = await signedInAs(f, user.established);
    const ticket = await ticketFor(f, user);
    const signedIn = await signInWithTotpCode(f.deps, requester, { ticket, code: user.code(), rememberDevice: false });
    await expectNoSession(f, user.established.token);
    expect(await sessionRow(f, user.established.session.id)).toMatchObject({ revoked_reason: 'signed_out' });
    expect((await findSession(f, signedIn.established.token))?.user.id).toBe(user.user.id);
    expect((await auditRows(f, 'session.create', user.user.id)).map((row) => row.session_id)).toEqual([user.established.session.id, signedIn.established.session.id]);
    expect((await notifications(f, user.user.id, 'new_sign_in')).map((n) => n.payload.sessionId)).toEqual([user.established.session.id, signedIn.established.session.id]);
  });
});
