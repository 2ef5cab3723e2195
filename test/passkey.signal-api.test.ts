import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { signedUpUser } from './helpers/passkeys.ts';

const t = await createTestApp();

describe('what the browser client needs for the WebAuthn Signal API (and nothing secret)', () => {
  it('the session names the relying party and the user handle; factors name their credential ids', async () => {
    const { client, user } = await signedUpUser(t);
    const stored = await t.db.selectFrom('users').select('webauthn_user_id').where('id', '=', user.id).executeTakeFirstOrThrow();
    const session = await client.get('/api/session');
    expect(session.body.rpId).toBe('localhost');
    expect(session.body.user.webauthnUserId).toBe(stored.webauthn_user_id);

    const passkeys = await t.db.selectFrom('factors').select(['id', 'credential_id', 'public_key']).where('user_id', '=', user.id).execute();
    const factors = (await client.get('/api/factors')).body as Array<Record<string, unknown>>;
    expect(factors.map((factor) => factor.credentialId)).toEqual(passkeys.map((passkey) => passkey.credential_id));
    const publicKey = Buffer.from(passkeys[0]!.public_key!).toString('base64url');
    expect(JSON.stringify(factors)).not.toContain(publicKey);
    expect(Object.keys(factors[0]!)).not.toContain('publicKey');
  });
});
