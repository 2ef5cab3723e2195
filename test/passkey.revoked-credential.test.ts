import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { addPasskey, auditRows, signInWithPasskey, signedUpUser } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const t = await createTestApp();

describe('a removed or unknown passkey', () => {
  it('a revoked passkey cannot sign in, and the error names it so the browser can forget it (signalUnknownCredential)', async () => {
    const { client } = await signedUpUser(t);
    const spare = new SoftAuthenticator();
    const added = await addPasskey(client, spare, { label: 'Old phone' });
    expect(added.response.status).toBe(201);
    expect((await client.delete(`/api/factors/${added.response.body.factor.id}`)).status).toBe(200);

    const run = await signInWithPasskey(t.client(), spare);
    expect(run.response.status).toBe(401);
    expect(run.response.body.error).toMatchObject({ code: 'credential_unknown', credentialId: spare.credentials[0]!.id, rpId: 'localhost' });
    expect((await auditRows(t, 'passkey.signin')).at(-1)).toMatchObject({ outcome: 'failure', factor_id: added.response.body.factor.id });
    expect((await auditRows(t, 'passkey.signin')).at(-1)!.details).toMatchObject({ reason: 'credential_revoked' });
  });

  it('a credential never registered here, holding the user handle of an account here, gets the same code', async () => {
    const { client } = await signedUpUser(t);
    const handle = (await client.get('/api/session')).body.user.webauthnUserId as string;
    const stranger = new SoftAuthenticator();
    // A passkey made for this account somewhere else (another deployment, a database restored from an older backup).
    stranger.register({
      rp: { id: 'localhost', name: 'Latch' },
      user: { id: handle, name: 'x', displayName: 'x' },
      challenge: randomBytes(32).toString('base64url'),
      pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
    });
    const run = await signInWithPasskey(t.client(), stranger);
    expect(run.response.status).toBe(401);
    expect(run.response.body.error).toMatchObject({ code: 'credential_unknown', credentialId: stranger.credentials[0]!.id });
  });

  it('a credential never registered here, for no account here, is not confirmed unknown (that would tell decoy ids from real ones)', async () => {
    const stranger = new SoftAuthenticator();
    stranger.register({
      rp: { id: 'localhost', name: 'Latch' },
      user: { id: randomBytes(32).toString('base64url'), name: 'x', displayName: 'x' },
      challenge: randomBytes(32).toString('base64url'),
      pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
    });
    const run = await signInWithPasskey(t.client(), stranger);
    expect(run.response.status).toBe(401);
    expect(run.response.body.error).toEqual({ code: 'passkey_verification_failed', message: expect.any(String) });
  });

  it("a disabled account's passkey cannot sign in", async () => {
    const { authenticator, user } = await signedUpUser(t);
    await t.db.updateTable('users').set({ status: 'disabled', disabled_at: t.clock.now() }).where('id', '=', user.id).execute();
    const client = t.client();
    const run = await signInWithPasskey(client, authenticator);
    expect(run.response.status).toBe(401);
    expect(client.sessionToken).toBeUndefined();
    expect((await auditRows(t, 'passkey.signin')).at(-1)!.details).toMatchObject({ reason: 'account_disabled' });
  });
});
