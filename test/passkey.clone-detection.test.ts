import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { auditRows, passkeyRow, signInWithPasskey, signedUpUser } from './helpers/passkeys.ts';

const t = await createTestApp();

describe('passkey sign counters: a counter that does not grow is a possible clone', () => {
  it('stored 10, assertion with 5: refused, audited, the passkey flagged and the user notified', async () => {
    const { authenticator, credential, user, client } = await signedUpUser(t);
    expect((await signInWithPasskey(t.client(), authenticator, { tamper: { counter: 10 } })).response.status).toBe(200);
    expect(Number((await passkeyRow(t, credential.id)).sign_count)).toBe(10);

    const clone = t.client();
    const run = await signInWithPasskey(clone, authenticator, { tamper: { counter: 5 } });
    expect(run.response.status).toBe(401);
    expect(run.response.body.error.code).toBe('possible_cloned_authenticator');
    expect(clone.sessionToken).toBeUndefined();

    const factor = await passkeyRow(t, credential.id);
    expect(factor.flagged_at).not.toBeNull();
    expect(factor.flagged_reason).toBe('sign_count_not_increasing');
    expect(Number(factor.sign_count)).toBe(10);
    const row = (await auditRows(t, 'passkey.signin')).at(-1)!;
    expect(row).toMatchObject({ outcome: 'failure', subject_user_id: user.id, factor_id: factor.id });
    expect(row.details).toMatchObject({ reason: 'sign_count_not_increasing', storedSignCount: 10, receivedSignCount: 5 });
    const notifications = await t.db.selectFrom('notifications').selectAll().where('user_id', '=', user.id).where('kind', '=', 'factor_flagged').execute();
    expect(notifications).toHaveLength(1);

    // From now on the passkey is refused, whichever copy counts on (see passkey.flagged-clone.test.ts);
    // the user (and admins) see the flag in the factor list.
    expect((await signInWithPasskey(t.client(), authenticator, { tamper: { counter: 11 } })).response.body.error.code).toBe('possible_cloned_authenticator');
    const listed = (await client.get('/api/factors')).body.find((f: { id: string }) => f.id === factor.id);
    expect(listed).toMatchObject({ flagged: true, flaggedReason: 'sign_count_not_increasing' });
  });

  it('an equal counter is refused as well', async () => {
    const { authenticator } = await signedUpUser(t);
    expect((await signInWithPasskey(t.client(), authenticator, { tamper: { counter: 3 } })).response.status).toBe(200);
    const again = await signInWithPasskey(t.client(), authenticator, { tamper: { counter: 3 } });
    expect(again.response.body.error.code).toBe('possible_cloned_authenticator');
  });

  it('a stored zero with a reported zero is fine (authenticators that do not count)', async () => {
    const { authenticator, credential } = await signedUpUser(t, { counterStep: 0 });
    for (let i = 0; i < 3; i++) expect((await signInWithPasskey(t.client(), authenticator)).response.status).toBe(200);
    const factor = await passkeyRow(t, credential.id);
    expect(Number(factor.sign_count)).toBe(0);
    expect(factor.flagged_at).toBeNull();
  });

  it('a non-zero stored counter followed by zero is refused', async () => {
    const { authenticator } = await signedUpUser(t);
    expect((await signInWithPasskey(t.client(), authenticator, { tamper: { counter: 2 } })).response.status).toBe(200);
    expect((await signInWithPasskey(t.client(), authenticator, { tamper: { counter: 0 } })).response.body.error.code).toBe('possible_cloned_authenticator');
  });

  it('a forged assertion with a low counter flags nothing (the counter is judged only after the signature)', async () => {
    const { authenticator, credential } = await signedUpUser(t);
    expect((await signInWithPasskey(t.client(), authenticator, { tamper: { counter: 10 } })).response.status).toBe(200);
    const forged = await signInWithPasskey(t.client(), authenticator, { tamper: { counter: 1, corruptSignature: true } });
    expect(forged.response.body.error.code).toBe('passkey_verification_failed');
    expect((await passkeyRow(t, credential.id)).flagged_at).toBeNull();
  });

  it('the counter is stored and updated on every use, with last-used time', async () => {
    const { authenticator, credential } = await signedUpUser(t);
    await signInWithPasskey(t.client(), authenticator);
    t.clock.advance(60);
    await signInWithPasskey(t.client(), authenticator);
    const factor = await passkeyRow(t, credential.id);
    expect(Number(factor.sign_count)).toBe(2);
    expect(factor.last_used_at?.toISOString()).toBe(t.clock.now().toISOString());
  });
});
