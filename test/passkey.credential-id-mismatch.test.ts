import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { addPasskey, auditRows, signInWithPasskey, signUpWithPasskey, signedUpUser } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const t = await createTestApp();
let userCounter = 0;
const username = () => `id-check-${++userCounter}-${Math.random().toString(36).slice(2, 8)}`;

async function credentialRows(credentialId: string) {
  return t.db.selectFrom('factors').select('id').where('credential_id', '=', credentialId).execute();
}

describe('the credential id a passkey is registered under is the one the browser names, and at most 1023 bytes', () => {
  it('an authenticator-data credential id that differs from response.id is refused, nothing stored', async () => {
    const authenticator = new SoftAuthenticator();
    const claimed = randomBytes(16).toString('base64url');
    const run = await signUpWithPasskey(t.client(), authenticator, { username: username(), tamper: { responseId: claimed } });
    expect(run.response.status).toBe(401);
    expect(run.response.body.error.code).toBe('passkey_verification_failed');
    expect((await auditRows(t, 'passkey.signup')).at(-1)!.details).toMatchObject({ reason: 'credential_id_mismatch' });
    expect(await credentialRows(authenticator.credentials[0]!.id)).toHaveLength(0);
    expect(await credentialRows(claimed)).toHaveLength(0);
  });

  it('a 1,100-byte id in the authenticator data (a passkey no sign-in could name) is refused, not registered', async () => {
    const { client } = await signedUpUser(t);
    const authenticator = new SoftAuthenticator();
    const run = await addPasskey(client, authenticator, { tamper: { credentialIdBytes: randomBytes(1100), responseId: randomBytes(16).toString('base64url') } });
    expect(run.response.status).toBe(401);
    expect(run.response.body.error.code).toBe('passkey_verification_failed');
    expect(await credentialRows(authenticator.credentials[0]!.id)).toHaveLength(0);
  });

  it('a 3,000-byte id in the authenticator data is refused, not a 500', async () => {
    const run = await signUpWithPasskey(t.client(), new SoftAuthenticator(), {
      username: username(),
      tamper: { credentialIdBytes: randomBytes(3000), responseId: randomBytes(16).toString('base64url') },
    });
    expect(run.response.status).toBe(401);
    expect(run.response.body.error.code).toBe('passkey_verification_failed');
  });

  it('an id over 1023 bytes named consistently is refused (400 at the schema: 1366 base64url characters)', async () => {
    const run = await signUpWithPasskey(t.client(), new SoftAuthenticator(), { username: username(), tamper: { credentialIdBytes: randomBytes(1024) } });
    expect(run.response.status).toBe(400);
    expect(run.response.body.error.code).toBe('validation_failed');
  });

  it('an id of exactly 1023 bytes registers and signs in', async () => {
    const authenticator = new SoftAuthenticator();
    const name = username();
    const run = await signUpWithPasskey(t.client(), authenticator, { username: name, tamper: { credentialIdBytes: randomBytes(1023) } });
    expect(run.response.status).toBe(201);
    expect(authenticator.credentials[0]!.id).toHaveLength(1364);
    expect((await signInWithPasskey(t.client(), authenticator)).response.status).toBe(200);
    expect((await signInWithPasskey(t.client(), authenticator, { username: name })).response.status).toBe(200);
  });
});
