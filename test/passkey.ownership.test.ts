import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { auditRows, signedUpUser } from './helpers/passkeys.ts';

const t = await createTestApp();

describe("passkey ownership: one user's passkey never answers for another", () => {
  it('user A named at sign-in, B presents their own valid passkey: refused', async () => {
    const alice = await signedUpUser(t);
    const mallory = await signedUpUser(t);
    const client = t.client();
    const { ceremonyId, options } = (await client.post('/api/signin/passkey/options', { username: alice.username })).body;
    // Mallory's authenticator signs the challenge with Mallory's (valid, registered) credential.
    const response = mallory.authenticator.assert(options, { credential: mallory.credential });
    const result = await client.post('/api/signin/passkey/verify', { ceremonyId, response });
    expect(result.status).toBe(401);
    expect(result.body.error.code).toBe('passkey_verification_failed');
    expect(client.sessionToken).toBeUndefined();
    const row = (await auditRows(t, 'passkey.signin')).at(-1)!;
    expect(row).toMatchObject({ outcome: 'failure', subject_user_id: alice.user.id });
    expect(row.details).toMatchObject({ reason: 'credential_of_another_user' });
  });

  it('discoverable sign-in whose userHandle is not the credential owner: refused', async () => {
    const alice = await signedUpUser(t);
    const bob = await signedUpUser(t);
    const client = t.client();
    const { ceremonyId, options } = (await client.post('/api/signin/passkey/options', {})).body;
    const response = alice.authenticator.assert(options, { userHandle: bob.credential.userHandle });
    const result = await client.post('/api/signin/passkey/verify', { ceremonyId, response });
    expect(result.status).toBe(401);
    expect((await auditRows(t, 'passkey.signin')).at(-1)!.details).toMatchObject({ reason: 'user_handle_mismatch' });
  });

  it('discoverable sign-in without a userHandle: refused (nobody was named, so the handle must say who)', async () => {
    const alice = await signedUpUser(t);
    const client = t.client();
    const { ceremonyId, options } = (await client.post('/api/signin/passkey/options', {})).body;
    const result = await client.post('/api/signin/passkey/verify', { ceremonyId, response: alice.authenticator.assert(options, { userHandle: null }) });
    expect(result.status).toBe(401);
    expect((await auditRows(t, 'passkey.signin')).at(-1)!.details).toMatchObject({ reason: 'user_handle_missing' });
  });

  it('discoverable sign-in (autofill) signs in the user the handle and credential name', async () => {
    const alice = await signedUpUser(t);
    const client = t.client();
    const { ceremonyId, options } = (await client.post('/api/signin/passkey/options', {})).body;
    expect(options.allowCredentials ?? []).toEqual([]);
    const result = await client.post('/api/signin/passkey/verify', { ceremonyId, response: alice.authenticator.assert(options) });
    expect(result.status).toBe(200);
    expect(result.body.user.id).toBe(alice.user.id);
  });

  it('sign-in with a username names that user\'s credentials and accepts them', async () => {
    const alice = await signedUpUser(t);
    const client = t.client();
    const { ceremonyId, options } = (await client.post('/api/signin/passkey/options', { username: alice.username.toUpperCase() })).body;
    expect(options.allowCredentials).toEqual([{ id: alice.credential.id, type: 'public-key', transports: ['hybrid', 'internal'] }]);
    const result = await client.post('/api/signin/passkey/verify', { ceremonyId, response: alice.authenticator.assert(options) });
    expect(result.status).toBe(200);
    expect(result.body.user.id).toBe(alice.user.id);
  });
});
