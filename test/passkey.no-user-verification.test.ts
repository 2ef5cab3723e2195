import { describe, expect, it } from 'vitest';
import { createTestApp, seedSignedInUser } from './helpers/app.ts';
import { addPasskey, signedUpUser, stepUpWithPasskey } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const t = await createTestApp();

describe('a user whose only passkey cannot verify them is never stuck in a step-up loop', () => {
  it('steps up by possession, adds a verifying passkey, then reaches two factors to remove the old one', async () => {
    const { client, authenticator } = await signedUpUser(t, { uv: false });
    expect((await client.get('/api/session')).body.session).toMatchObject({ aal: 1, phishingResistant: false });

    t.clock.advance(6 * 60);
    const stale = await client.post('/api/factors/passkeys/options');
    expect(stale.status).toBe(403);
    expect(stale.body.error).toMatchObject({ code: 'step_up_required', methods: ['passkey'] });

    const { options, response: stepped } = await stepUpWithPasskey(client, authenticator);
    expect(options.userVerification).toBe('preferred');
    expect(stepped.status).toBe(200);
    expect(stepped.body.session).toMatchObject({ aal: 1, phishingResistant: false, steppedUpAt: expect.any(String) });

    const verifying = new SoftAuthenticator({ uv: true });
    const added = await addPasskey(client, verifying, { label: 'New phone' });
    expect(added.response.status).toBe(201);

    const factors = (await client.get('/api/factors')).body as Array<{ id: string; label: string | null; userVerified: boolean }>;
    const old = factors.find((factor) => !factor.userVerified)!;
    const removeWithOneFactor = await client.delete(`/api/factors/${old.id}`);
    expect(removeWithOneFactor.status).toBe(403);
    expect(removeWithOneFactor.body.error).toMatchObject({ code: 'step_up_required', methods: ['passkey'] });

    const strong = await stepUpWithPasskey(client, verifying);
    expect(strong.options.userVerification).toBe('required');
    expect(strong.response.body.session).toMatchObject({ aal: 2, phishingResistant: true });
    expect((await client.delete(`/api/factors/${old.id}`)).status).toBe(200);
  });

  it('with no way to reach two factors, removal is refused outright instead of asking for a step-up that cannot help', async () => {
    const { client } = await signedUpUser(t, { uv: false });
    const otherKey = new SoftAuthenticator({ uv: false });
    expect((await addPasskey(client, otherKey)).response.status).toBe(201);
    const factors = (await client.get('/api/factors')).body as Array<{ id: string }>;
    const response = await client.delete(`/api/factors/${factors[0]!.id}`);
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('forbidden');
  });
});

describe('a remembered browser is no proof of presence for sensitive actions', () => {
  it('regenerating backup codes from a password + remembered-browser session asks for the TOTP code first', async () => {
    const client = t.client();
    await seedSignedInUser(t, client, {
      factors: [{ kind: 'password' }, { kind: 'totp' }, { kind: 'backup_codes' }],
      proof: { amr: ['pwd', 'remembered_device'], aal: 2, phishingResistant: false },
    });
    const response = await client.post('/api/factors/backup-codes');
    expect(response.status).toBe(403);
    expect(response.body.error).toMatchObject({ code: 'step_up_required', methods: ['totp'], maxAgeSeconds: 300 });
  });
});

