import { describe, expect, it } from 'vitest';
import { createTestApp, TEST_ORIGIN } from './helpers/app.ts';
import { signInWithPasskey, signedUpUser } from './helpers/passkeys.ts';

const RELATED = 'https://shop.example';
const t = await createTestApp({ env: { LATCH_ORIGINS: `${TEST_ORIGIN},${RELATED}` } });
const single = await createTestApp();

describe('related origins', () => {
  it('serves /.well-known/webauthn listing the configured origins', async () => {
    const response = await t.client().get('/.well-known/webauthn');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(response.body).toEqual({ origins: [TEST_ORIGIN, RELATED] });
  });

  it('with one origin there is no related-origins document', async () => {
    expect((await single.client().get('/.well-known/webauthn')).status).toBe(404);
  });

  it('accepts assertions made on each configured origin, and no other', async () => {
    const { authenticator } = await signedUpUser(t);
    expect((await signInWithPasskey(t.client(), authenticator, { tamper: { origin: RELATED } })).response.status).toBe(200);
    expect((await signInWithPasskey(t.client(), authenticator)).response.status).toBe(200);
    expect((await signInWithPasskey(t.client(), authenticator, { tamper: { origin: 'https://other.example' } })).response.status).toBe(401);
  });

  it('a related origin is not accepted where it is not configured', async () => {
    const { authenticator } = await signedUpUser(single);
    expect((await signInWithPasskey(single.client(), authenticator, { tamper: { origin: RELATED } })).response.status).toBe(401);
  });
});
