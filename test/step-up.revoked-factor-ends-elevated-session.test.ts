import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { signInWithPasskey, signedUpUser, stepUpWithPasskey, addPasskey } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const t = await createTestApp();

/**
 * Issue 9: a factor used for a step-up did not join the session's `factor_ids`, so revoking a
 * passkey that elevated a session left that elevated session alive.
 */
describe('revoking the factor a session stepped up with ends that session', () => {
  it('a session stepped up with a passkey ends when that passkey is revoked elsewhere', async () => {
    const { client: owner, authenticator: first } = await signedUpUser(t, { uv: true });
    const second = new SoftAuthenticator({ uv: true });
    expect((await addPasskey(owner, second)).response.status).toBe(201);

    // Another browser signs in with the first passkey and steps up with the second.
    const elsewhere = t.client({ clientAddress: '192.0.2.150' });
    expect((await signInWithPasskey(elsewhere, first)).response.status).toBe(200);
    t.clock.advance(6 * 60);
    expect((await stepUpWithPasskey(elsewhere, second)).response.status).toBe(200);
    const steppedUp = await t.db.selectFrom('sessions').select(['id', 'factor_ids']).where('client_address', '=', '192.0.2.150').where('revoked_at', 'is', null).executeTakeFirstOrThrow();
    const secondFactor = await t.db.selectFrom('factors').select('id').where('credential_id', '=', second.credentials[0]!.id).executeTakeFirstOrThrow();
    expect(steppedUp.factor_ids).toContain(secondFactor.id);

    // The owner, freshly stepped up with the first passkey, removes the second.
    expect((await stepUpWithPasskey(owner, first)).response.status).toBe(200);
    expect((await owner.delete(`/api/factors/${secondFactor.id}`)).status).toBe(200);
    expect((await elsewhere.get('/api/session')).status).toBe(401);
    expect((await owner.get('/api/session')).status).toBe(200);
  });
});
