import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { addPasskey, auditRows, signUpWithPasskey, signedUpUser } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const t = await createTestApp();

describe('a credential id already registered (to anyone) is refused', () => {
  it("at sign-up: someone else's credential id cannot become a new account", async () => {
    const victim = await signedUpUser(t);
    const run = await signUpWithPasskey(t.client(), new SoftAuthenticator(), {
      username: 'credential-squatter',
      tamper: { credentialIdBytes: Buffer.from(victim.credential.id, 'base64url') },
    });
    expect(run.response.status).toBe(409);
    expect(run.response.body.error.code).toBe('credential_already_registered');
    expect(await t.db.selectFrom('users').select('id').where('username', '=', 'credential-squatter').executeTakeFirst()).toBeUndefined();
    expect((await auditRows(t, 'passkey.signup')).at(-1)).toMatchObject({ outcome: 'failure' });
  });

  it("when adding a passkey: another user's credential id, or a revoked one, is refused", async () => {
    const victim = await signedUpUser(t);
    const me = await signedUpUser(t);
    const stolen = await addPasskey(me.client, new SoftAuthenticator(), { tamper: { credentialIdBytes: Buffer.from(victim.credential.id, 'base64url') } });
    expect(stolen.response.status).toBe(409);
    expect(stolen.response.body.error.code).toBe('credential_already_registered');

    // My own second passkey, revoked, cannot come back under the same id.
    const reused = randomBytes(16);
    const second = await addPasskey(me.client, new SoftAuthenticator(), { tamper: { credentialIdBytes: reused } });
    expect(second.response.status).toBe(201);
    expect((await me.client.delete(`/api/factors/${second.response.body.factor.id}`)).status).toBe(200);
    const again = await addPasskey(me.client, new SoftAuthenticator(), { tamper: { credentialIdBytes: reused } });
    expect(again.response.status).toBe(409);
  });
});
