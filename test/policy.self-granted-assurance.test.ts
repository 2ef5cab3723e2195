import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { signUpWithTotp } from './helpers/fallback.ts';
import { addPasskey, signedUpUser, stepUpWithPasskey } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const t = await createTestApp();

/**
 * Issue 10, finding 3: a session made with one factor (a passkey without user verification) added
 * a passkey its holder controlled, stepped up with it to two factors, created backup codes and
 * removed the owner's passkey.
 */
describe('a single-factor session cannot make itself two-factor', () => {
  it('an AAL1 session cannot bind a passkey, an authenticator app, backup codes or a password', async () => {
    const { client } = await signedUpUser(t, { uv: false });
    const passkey = await client.post('/api/factors/passkeys/options');
    expect(passkey.status).toBe(403);
    expect(passkey.body.error).toMatchObject({ code: 'forbidden', reason: 'no_step_up_method' });
    for (const [path, body] of [['/api/factors/totp/setup', undefined], ['/api/factors/backup-codes', undefined], ['/api/factors/password', { newPassword: 'a brand new passphrase' }]] as const) {
      const response = await client.post(path, body);
      expect(response.status, path).toBe(403);
      expect(response.body.error.code, path).toBe('forbidden');
    }
    const factors = (await client.get('/api/factors')).body as Array<{ kind: string }>;
    expect(factors.map((factor) => factor.kind)).toEqual(['passkey']);
  });

  it('an AAL1 session of a user who also has an authenticator app must step up with the code before binding', async () => {
    const client = t.client();
    const user = await signUpWithTotp(t, client);
    // The same person later signs in with a passkey that cannot verify them: one factor.
    await t.db.updateTable('sessions').set({ aal: 1, amr: ['passkey'] }).where('user_id', '=', user.userId).execute();
    const refused = await client.post('/api/factors/passkeys/options');
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'step_up_required', methods: ['totp'] });
    expect((await client.post('/api/step-up/totp', { code: user.code() })).status).toBe(200);
    expect((await client.get('/api/session')).body.session.aal).toBe(2);
    expect((await addPasskey(client, new SoftAuthenticator({ uv: true }))).response.status).toBe(201);
  });

  it('a factor bound in a session cannot step that session up: not offered by the policy, refused by the ceremony', async () => {
    const client = t.client();
    await signUpWithTotp(t, client);
    const newKey = new SoftAuthenticator({ uv: true });
    expect((await addPasskey(client, newKey)).response.status).toBe(201);

    t.clock.advance(6 * 60);
    const totpFactor = (await client.get('/api/factors')).body.find((factor: { kind: string }) => factor.kind === 'totp');
    const stale = await client.delete(`/api/factors/${totpFactor.id}`);
    expect(stale.status).toBe(403);
    expect(stale.body.error).toMatchObject({ code: 'step_up_required', methods: ['totp'] });
    const options = await client.post('/api/step-up/passkey/options');
    expect(options.status).toBe(403);
    expect(options.body.error.code).toBe('factor_bound_in_session');
    expect((await client.get('/api/session')).body.session.steppedUpAt).toBeNull();
  });

  it('a passkey added in a session is refused for that session\'s step-up even when offered beside an older one', async () => {
    const { client, authenticator } = await signedUpUser(t, { uv: true });
    const newKey = new SoftAuthenticator({ uv: true });
    expect((await addPasskey(client, newKey)).response.status).toBe(201);
    t.clock.advance(6 * 60);

    const withNew = await stepUpWithPasskey(client, newKey);
    expect(withNew.response.status).toBe(403);
    expect(withNew.response.body.error.code).toBe('factor_bound_in_session');
    expect((await client.get('/api/session')).body.session.steppedUpAt).toBeNull();
    expect((await stepUpWithPasskey(client, authenticator)).response.status).toBe(200);

    // In a session of its own the new passkey is an ordinary factor.
    const other = t.client();
    const signIn = await other.post('/api/signin/passkey/options', {});
    expect((await other.post('/api/signin/passkey/verify', { ceremonyId: signIn.body.ceremonyId, response: newKey.assert(signIn.body.options) })).status).toBe(200);
    t.clock.advance(6 * 60);
    expect((await stepUpWithPasskey(other, newKey)).response.status).toBe(200);
  });
});
