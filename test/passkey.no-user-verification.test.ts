import { describe, expect, it } from 'vitest';
import { createTestApp, insertFactor, seedSignedInUser } from './helpers/app.ts';
import { signedUpUser, stepUpWithPasskey } from './helpers/passkeys.ts';

const t = await createTestApp();

describe('a user whose only passkey cannot verify them is never stuck in a step-up loop', () => {
  it('steps up by possession for what one factor may do, and is refused outright (not looped) for what needs two', async () => {
    const { client, authenticator } = await signedUpUser(t, { uv: false });
    expect((await client.get('/api/session')).body.session).toMatchObject({ aal: 1, phishingResistant: false });

    // Renaming needs a fresh proof, and the same passkey gives one again.
    t.clock.advance(16 * 60);
    const factors = (await client.get('/api/factors')).body as Array<{ id: string }>;
    const stale = await client.patch(`/api/factors/${factors[0]!.id}`, { label: 'Old key' });
    expect(stale.status).toBe(403);
    expect(stale.body.error).toMatchObject({ code: 'step_up_required', methods: ['passkey'] });
    const { options, response: stepped } = await stepUpWithPasskey(client, authenticator);
    expect(options.userVerification).toBe('preferred');
    expect(stepped.status).toBe(200);
    expect(stepped.body.session).toMatchObject({ aal: 1, phishingResistant: false, steppedUpAt: expect.any(String) });
    expect((await client.patch(`/api/factors/${factors[0]!.id}`, { label: 'Old key' })).status).toBe(200);

    // Adding a factor needs two factors, which nothing this user holds can give: a clear refusal.
    const add = await client.post('/api/factors/passkeys/options');
    expect(add.status).toBe(403);
    expect(add.body.error).toMatchObject({ code: 'forbidden', reason: 'no_step_up_method' });
  });

  it('with no way to reach two factors, removal is refused outright instead of asking for a step-up that cannot help', async () => {
    const { client, user } = await signedUpUser(t, { uv: false });
    await insertFactor(t.db, user.id, { kind: 'passkey', user_verified: false }, t.clock.now());
    const factors = (await client.get('/api/factors')).body as Array<{ id: string }>;
    expect(factors).toHaveLength(2);
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

