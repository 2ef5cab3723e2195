import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { addPasskey, auditRows, passkeyRow, signInWithPasskey, signedUpUser, stepUpWithPasskey } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const t = await createTestApp();

/** A user with two passkeys (the first one gets cloned), the first flagged by a counter that went backwards. */
async function userWithFlaggedPasskey() {
  const owner = await signedUpUser(t);
  const spare = new SoftAuthenticator();
  expect((await addPasskey(owner.client, spare, { label: 'Spare key' })).response.status).toBe(201);
  expect((await signInWithPasskey(t.client(), owner.authenticator, { tamper: { counter: 10 } })).response.status).toBe(200);
  // The clone, behind the genuine key's counter: refused and flagged.
  expect((await signInWithPasskey(t.client(), owner.authenticator, { tamper: { counter: 5 } })).response.body.error.code).toBe('possible_cloned_authenticator');
  const flagged = await passkeyRow(t, owner.credential.id);
  expect(flagged.flagged_at).not.toBeNull();
  return { ...owner, spare, factorId: flagged.id };
}

describe('a passkey flagged as a possible clone is refused until its owner clears the flag or removes it', () => {
  it('a clone that jumps its counter ahead does not sign in (and neither does the genuine key): refused, saying what to do, audited', async () => {
    const { authenticator, user, factorId } = await userWithFlaggedPasskey();
    for (const counter of [1000, 1001]) {
      const client = t.client();
      const run = await signInWithPasskey(client, authenticator, { tamper: { counter } });
      expect(run.response.status).toBe(401);
      expect(run.response.body.error.code).toBe('possible_cloned_authenticator');
      expect(run.response.body.error.message).toMatch(/sign in another way/i);
      expect(run.response.body.error.message).toMatch(/account page/i);
      expect(run.response.body.error.message).toMatch(/remove/i);
      expect(client.sessionToken).toBeUndefined();
      const row = (await auditRows(t, 'passkey.signin')).at(-1)!;
      expect(row).toMatchObject({ outcome: 'failure', subject_user_id: user.id, factor_id: factorId });
      expect(row.details).toMatchObject({ reason: 'passkey_flagged', flaggedReason: 'sign_count_not_increasing' });
    }
    // Nothing the refused assertions said was kept: the counter is the genuine key's last one.
    expect(Number((await passkeyRow(t, authenticator.credentials[0]!.id)).sign_count)).toBe(10);
  });

  it('a flagged passkey cannot step up either', async () => {
    const { client, authenticator } = await userWithFlaggedPasskey();
    const run = await stepUpWithPasskey(client, authenticator, { credential: authenticator.credentials[0]!, counter: 2000 });
    expect(run.response.status).toBe(401);
    expect(run.response.body.error.code).toBe('possible_cloned_authenticator');
    expect((await auditRows(t, 'passkey.step_up')).at(-1)!.details).toMatchObject({ reason: 'passkey_flagged' });
  });

  it('a junk assertion under a flagged passkey says nothing of the flag (judged after the signature)', async () => {
    const { authenticator } = await userWithFlaggedPasskey();
    const run = await signInWithPasskey(t.client(), authenticator, { tamper: { counter: 3000, corruptSignature: true } });
    expect(run.response.body.error.code).toBe('passkey_verification_failed');
  });

  it('the factor list shows the flag; the owner clears it after a step-up with another factor, audited, and the passkey signs in again', async () => {
    const { username, authenticator, spare, factorId, user } = await userWithFlaggedPasskey();
    const owner = t.client();
    expect((await signInWithPasskey(owner, spare, { username })).response.status).toBe(200);
    const listed = (await owner.get('/api/factors')).body.find((factor: { id: string }) => factor.id === factorId);
    expect(listed).toMatchObject({ flagged: true, flaggedReason: 'sign_count_not_increasing' });

    const cleared = await owner.post(`/api/factors/passkeys/${factorId}/clear-flag`);
    expect(cleared.status).toBe(200);
    expect(cleared.body.factor).toMatchObject({ id: factorId, flagged: false, flaggedReason: null });
    const row = (await auditRows(t, 'factor.flag_cleared')).at(-1)!;
    expect(row).toMatchObject({ outcome: 'success', actor_user_id: user.id, subject_user_id: user.id, factor_id: factorId });
    expect(row.details).toMatchObject({ kind: 'passkey', flaggedReason: 'sign_count_not_increasing' });

    // The key the owner vouched for is the new baseline, whatever its counter.
    expect((await signInWithPasskey(t.client(), authenticator, { tamper: { counter: 7 } })).response.status).toBe(200);
    expect((await passkeyRow(t, authenticator.credentials[0]!.id)).flagged_at).toBeNull();
  });

  it('clearing goes through the policy engine (a stale proof must step up) and only for the owner', async () => {
    const { username, spare, factorId } = await userWithFlaggedPasskey();
    const owner = t.client();
    expect((await signInWithPasskey(owner, spare, { username })).response.status).toBe(200);
    t.clock.advance(10 * 60);
    const stale = await owner.post(`/api/factors/passkeys/${factorId}/clear-flag`);
    expect(stale.status).toBe(403);
    expect(stale.body.error.code).toBe('step_up_required');
    expect((await passkeyRow(t, spare.credentials[0]!.id)).flagged_at).toBeNull();
    expect((await t.db.selectFrom('factors').select('flagged_at').where('id', '=', factorId).executeTakeFirstOrThrow()).flagged_at).not.toBeNull();

    const stranger = await signedUpUser(t);
    expect((await stranger.client.post(`/api/factors/passkeys/${factorId}/clear-flag`)).status).toBe(404);
    expect((await t.client().post(`/api/factors/passkeys/${factorId}/clear-flag`)).status).toBe(401);
  });

  it('removing the flagged passkey works as for any passkey', async () => {
    const { username, spare, factorId } = await userWithFlaggedPasskey();
    const owner = t.client();
    expect((await signInWithPasskey(owner, spare, { username })).response.status).toBe(200);
    expect((await owner.delete(`/api/factors/${factorId}`)).status).toBe(200);
  });
});
