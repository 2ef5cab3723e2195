import { describe, expect, it } from 'vitest';
import { createTestApp, insertFactor } from './helpers/app.ts';
import { signedUpUser } from './helpers/passkeys.ts';
import { createUser } from '../src/users/users.ts';

const t = await createTestApp();

/** Everything a response shows, with the values that differ per request (challenge, ids, how many) replaced by their type. */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return [...new Set(value.map((item) => JSON.stringify(shapeOf(item))))];
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, shapeOf(inner)]));
  return typeof value;
}

async function signInOptions(username: string) {
  return t.client({ clientAddress: `203.0.113.${Math.floor(Math.random() * 200) + 1}` }).post('/api/signin/passkey/options', { username });
}

describe('passkey sign-in options do not tell who has an account', () => {
  it('an unknown username gets options of the same status and shape as a known one, with plausible credential ids', async () => {
    const known = await signedUpUser(t);
    const knownResponse = await signInOptions(known.username);
    const unknownResponse = await signInOptions('nobody-here-at-all');
    expect(unknownResponse.status).toBe(knownResponse.status);
    expect(shapeOf(unknownResponse.body)).toEqual(shapeOf(knownResponse.body));
    expect([...unknownResponse.headers.keys()].sort()).toEqual([...knownResponse.headers.keys()].sort());

    const decoys = unknownResponse.body.options.allowCredentials as { id: string; type: string; transports: string[] }[];
    expect(decoys.length).toBeGreaterThanOrEqual(1);
    for (const decoy of decoys) {
      expect(decoy.type).toBe('public-key');
      expect([16, 20, 32]).toContain(Buffer.from(decoy.id, 'base64url').length);
      expect(decoy.transports.length).toBeGreaterThan(0);
    }
  });

  it('the decoy credential ids are stable across requests, case and instances, and differ per username', async () => {
    const first = (await signInOptions('Ghost')).body.options.allowCredentials;
    const second = (await signInOptions(' ghost ')).body.options.allowCredentials;
    const viaOther = await t.client().via(t.anotherInstance()).post('/api/signin/passkey/options', { username: 'GHOST' });
    expect(second).toEqual(first);
    expect(viaOther.body.options.allowCredentials).toEqual(first);
    expect((await signInOptions('phantom')).body.options.allowCredentials).not.toEqual(first);
  });

  it('a user with an account but no passkey gets decoys too (not an empty list that gives them away)', async () => {
    const user = (await createUser(t.db, { username: 'totp-only-user' }, t.clock.now()))!;
    await insertFactor(t.db, user.id, { kind: 'password' }, t.clock.now());
    const response = await signInOptions('totp-only-user');
    expect(response.status).toBe(200);
    expect(response.body.options.allowCredentials.length).toBeGreaterThanOrEqual(1);
  });

  it('finishing a sign-in for an unknown username fails the same way as for a known one', async () => {
    const known = await signedUpUser(t);
    const mallory = await signedUpUser(t);
    const results = [];
    for (const username of [known.username, 'nobody-at-all']) {
      const client = t.client();
      const { ceremonyId, options } = (await client.post('/api/signin/passkey/options', { username })).body;
      const response = mallory.authenticator.assert({ ...options, allowCredentials: [] }, { credential: mallory.credential });
      results.push(await client.post('/api/signin/passkey/verify', { ceremonyId, response }));
    }
    expect(results[1]!.status).toBe(results[0]!.status);
    expect(results[1]!.body).toEqual(results[0]!.body);
  });
});
