import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { createTestApp } from './helpers/app.ts';
import { addPasskey, auditRows, passkeyRow, signInWithPasskey, signedUpUser, stepUpWithPasskey } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const aaguidFile = fileURLToPath(new URL('./fixtures/aaguids.json', import.meta.url));
const t = await createTestApp({ env: { LATCH_AAGUID_FILE: aaguidFile } });

const GOOGLE = 'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4';
const ICLOUD = 'fbfc3007-154e-4ecc-8c0b-6e020557d7bd';
const FROM_FILE = '0a0a0a0a-1111-2222-3333-444455556666';

describe('managing passkeys', () => {
  it('GET /api/factors lists each passkey with label, authenticator name, created, last used, synced and transports', async () => {
    const { client, credential } = await signedUpUser(t, { aaguid: GOOGLE, backupEligible: true, backedUp: true, transports: ['hybrid', 'internal'] });
    const key = new SoftAuthenticator({ aaguid: FROM_FILE, transports: ['usb', 'nfc'] });
    expect((await addPasskey(client, key, { label: 'Desk key' })).response.status).toBe(201);
    const apple = new SoftAuthenticator({ aaguid: ICLOUD });
    expect((await addPasskey(client, apple)).response.status).toBe(201);
    const unknown = new SoftAuthenticator({ aaguid: '12345678-1234-1234-1234-123456789abc' });
    expect((await addPasskey(client, unknown)).response.status).toBe(201);
    t.clock.advance(30);
    await signInWithPasskey(t.client(), key);

    const factors = (await client.get('/api/factors')).body as any[];
    const byCredential = async (id: string) => {
      const row = await t.db.selectFrom('factors').select('id').where('credential_id', '=', id).executeTakeFirstOrThrow();
      return factors.find((factor) => factor.id === row.id);
    };
    expect(await byCredential(credential.id)).toMatchObject({
      kind: 'passkey',
      authenticatorName: 'Google Password Manager',
      synced: true,
      transports: ['hybrid', 'internal'],
      // Named after its authenticator when the user gave no name, and used: it made the account (issue 12, point 5).
      label: 'Google Password Manager',
      lastUsedAt: expect.any(String),
    });
    const desk = await byCredential(key.credentials[0]!.id);
    expect(desk).toMatchObject({ label: 'Desk key', authenticatorName: 'Example Corp Key', synced: false, transports: ['nfc', 'usb'], lastUsedAt: t.clock.now().toISOString() });
    expect(typeof desk.createdAt).toBe('string');
    // The configured file overrides a built-in name (keys compared case-insensitively).
    expect((await byCredential(apple.credentials[0]!.id)).authenticatorName).toBe('Apple Passwords');
    expect((await byCredential(apple.credentials[0]!.id)).label).toBe('Apple Passwords');
    expect((await byCredential(unknown.credentials[0]!.id)).authenticatorName).toBeNull();
    // Never the public key.
    expect(JSON.stringify(factors)).not.toMatch(/public_?key/i);
  });

  it('adding a passkey excludes the ones the user has, queues a notification and audits', async () => {
    const { client, credential, user } = await signedUpUser(t);
    const started = await client.post('/api/factors/passkeys/options');
    expect(started.status).toBe(200);
    expect(started.body.options.excludeCredentials.map((c: { id: string }) => c.id)).toEqual([credential.id]);
    expect(started.body.options.authenticatorSelection).toMatchObject({ residentKey: 'required' });
    expect(started.body.options.user.id).toBe(credential.userHandle);

    const run = await addPasskey(client, new SoftAuthenticator(), { label: 'Laptop' });
    expect(run.response.status).toBe(201);
    expect(run.response.body.factor).toMatchObject({ kind: 'passkey', label: 'Laptop', status: 'active' });
    const notes = await t.db.selectFrom('notifications').selectAll().where('user_id', '=', user.id).where('kind', '=', 'factor_added').execute();
    expect(notes).toHaveLength(1);
    expect((await auditRows(t, 'factor.add')).at(-1)).toMatchObject({ outcome: 'success', subject_user_id: user.id, factor_id: run.response.body.factor.id });
  });

  it('adding a passkey goes through the policy engine: a stale proof must step up first', async () => {
    const { client, authenticator, user } = await signedUpUser(t);
    t.clock.advance(6 * 60);
    const refused = await client.post('/api/factors/passkeys/options');
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'step_up_required', methods: ['passkey'] });

    expect((await stepUpWithPasskey(client, authenticator)).response.status).toBe(200);
    const started = (await client.post('/api/factors/passkeys/options')).body;
    // The proof ages past the policy while the user holds their key: verify checks again.
    t.clock.advance(6 * 60);
    const late = await client.post('/api/factors/passkeys/verify', { ceremonyId: started.ceremonyId, response: new SoftAuthenticator().register(started.options) });
    expect(late.status).toBe(403);
    expect(late.body.error.code).toBe('step_up_required');
    expect((await auditRows(t, 'factor.add')).filter((row) => row.subject_user_id === user.id).at(-1)).toMatchObject({ outcome: 'denied' });
    expect((await t.db.selectFrom('factors').select('id').where('user_id', '=', user.id).execute())).toHaveLength(1);
  });

  it('rename and remove go through the policy engine', async () => {
    const { client, authenticator } = await signedUpUser(t);
    const added = (await addPasskey(client, new SoftAuthenticator())).response.body.factor;
    t.clock.advance(16 * 60);
    expect((await client.patch(`/api/factors/${added.id}`, { label: 'Work' })).body.error.code).toBe('step_up_required');
    expect((await client.delete(`/api/factors/${added.id}`)).body.error.code).toBe('step_up_required');
    await stepUpWithPasskey(client, authenticator);
    const renamed = await client.patch(`/api/factors/${added.id}`, { label: 'Work' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.factor).toMatchObject({ label: 'Work', authenticatorName: null });
    expect((await client.delete(`/api/factors/${added.id}`)).status).toBe(200);
  });

  it('removing the last passkey (the last way to sign in) is refused', async () => {
    const { client, user } = await signedUpUser(t);
    const factors = (await client.get('/api/factors')).body;
    expect(factors).toHaveLength(1);
    const refused = await client.delete(`/api/factors/${factors[0].id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('last_factor');
    const row = await t.db.selectFrom('factors').select('status').where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('active');
  });

  it('removing a passkey ends the sessions it established (and only those), and notifies', async () => {
    const { client: laptop, user } = await signedUpUser(t);
    const phoneKey = new SoftAuthenticator();
    expect((await addPasskey(laptop, phoneKey)).response.status).toBe(201);
    const phone = t.client();
    expect((await signInWithPasskey(phone, phoneKey)).response.status).toBe(200);

    const phoneFactor = await passkeyRow(t, phoneKey.credentials[0]!.id);
    const removed = await laptop.delete(`/api/factors/${phoneFactor.id}`);
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ endedSessions: 1, signedOut: false });
    expect((await phone.get('/api/session')).status).toBe(401);
    expect((await laptop.get('/api/session')).status).toBe(200);
    const notes = await t.db.selectFrom('notifications').selectAll().where('user_id', '=', user.id).where('kind', '=', 'factor_removed').execute();
    expect(notes).toHaveLength(1);
  });
});
