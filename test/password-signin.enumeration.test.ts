import { verify as argon2Verify } from '@node-rs/argon2';
import { describe, expect, it, vi } from 'vitest';
import { hashPassword, verifyDummyPassword, verifyPassword } from '../src/factors/password.ts';
import { createUser } from '../src/users/users.ts';
import { createTestApp, insertFactor } from './helpers/app.ts';
import { GOOD_PASSWORD, signUpWithTotp } from './helpers/fallback.ts';

// Counts the argon2 work of the password step, wherever its route lives: the password module's
// checks and argon2's own verification, each still doing the real work. (How long it takes is a
// figure of `npm run bench`, not a test: timings flake.)
vi.mock('../src/factors/password.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../src/factors/password.ts')>();
  return { ...original, verifyPassword: vi.fn(original.verifyPassword), verifyDummyPassword: vi.fn(original.verifyDummyPassword) };
});
vi.mock('@node-rs/argon2', async (importOriginal) => {
  const original = await importOriginal<typeof import('@node-rs/argon2')>();
  return { ...original, verify: vi.fn(original.verify) };
});

const t = await createTestApp();

/** Status, header names that matter, and the body's shape with values replaced by their types. */
function shapeOf(response: { status: number; headers: Headers; body: unknown }) {
  const shape = (value: unknown): unknown =>
    Array.isArray(value) ? value.map(shape) : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)])) : typeof value;
  return { status: response.status, setsCookie: response.headers.getSetCookie().length > 0, body: shape(response.body), methods: (response.body as { methods?: unknown }).methods };
}

describe('password sign-in enumeration: unknown users, wrong passwords and users without a second factor look the same', async () => {
  const known = await signUpWithTotp(t, t.client());
  const passwordOnly = (await createUser(t.db, { username: 'password-only' }, t.clock.now()))!;
  await insertFactor(t.db, passwordOnly.id, { kind: 'password', password_hash: await hashPassword(GOOD_PASSWORD) }, t.clock.now());

  const attempts = {
    unknownUser: { username: 'nobody-here', password: GOOD_PASSWORD },
    wrongPassword: { username: known.username, password: 'not the password at all' },
    noSecondFactor: { username: 'password-only', password: GOOD_PASSWORD },
    rightPassword: { username: known.username, password: known.password },
  };

  it('same status, body shape and methods; no cookie; a password alone never signs in', async () => {
    const shapes: Record<string, unknown> = {};
    for (const [name, body] of Object.entries(attempts)) {
      const client = t.client();
      const response = await client.post('/api/signin/password', body);
      shapes[name] = shapeOf(response);
      expect((await client.get('/api/session')).status).toBe(401);
      expect((await client.get('/api/factors')).status).toBe(401);
    }
    expect(shapes.unknownUser).toEqual(shapes.rightPassword);
    expect(shapes.wrongPassword).toEqual(shapes.rightPassword);
    expect(shapes.noSecondFactor).toEqual(shapes.rightPassword);
    expect(shapes.rightPassword).toMatchObject({ status: 200, setsCookie: false, methods: ['totp', 'backup_code'] });
  });

  it('the second step fails the same way for all but the right password', async () => {
    t.clock.advance(30);
    const code = known.code();
    const bodies: unknown[] = [];
    for (const name of ['unknownUser', 'wrongPassword', 'noSecondFactor'] as const) {
      const client = t.client({ clientAddress: `198.51.100.${bodies.length + 50}` });
      const ticket = (await client.post('/api/signin/password', attempts[name])).body.ticket;
      const response = await client.post('/api/signin/totp', { ticket, code });
      bodies.push({ status: response.status, body: response.body });
    }
    expect(bodies[0]).toEqual({ status: 401, body: { error: { code: 'code_invalid', message: expect.any(String), attemptsLeft: 2 } } });
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[2]).toEqual(bodies[0]);
  });

  it('equal work: an unknown user, a user without a password and a wrong password cost the one argon2 verification a right password costs', async () => {
    const passkeyOnly = (await createUser(t.db, { username: 'passkey-only' }, t.clock.now()))!;
    await insertFactor(t.db, passkeyOnly.id, { kind: 'passkey' }, t.clock.now());
    const cases = {
      unknownUser: { attempt: attempts.unknownUser, via: 'verifyDummyPassword' },
      withoutPassword: { attempt: { username: 'passkey-only', password: GOOD_PASSWORD }, via: 'verifyDummyPassword' },
      wrongPassword: { attempt: attempts.wrongPassword, via: 'verifyPassword' },
      rightPassword: { attempt: attempts.rightPassword, via: 'verifyPassword' },
    } as const;
    const work: Record<string, unknown> = {};
    for (const [name, { attempt }] of Object.entries(cases)) {
      vi.mocked(verifyPassword).mockClear();
      vi.mocked(verifyDummyPassword).mockClear();
      vi.mocked(argon2Verify).mockClear();
      expect((await t.client({ clientAddress: '198.51.100.70' }).post('/api/signin/password', attempt)).status).toBe(200);
      work[name] = {
        verifyPassword: vi.mocked(verifyPassword).mock.calls.length,
        verifyDummyPassword: vi.mocked(verifyDummyPassword).mock.calls.length,
        // What argon2 was asked to do: one verification, against a hash of our cost parameters.
        argon2: vi.mocked(argon2Verify).mock.calls.map(([hash]) => String(hash).split('$').slice(1, 4).join('$')),
      };
    }
    const oneArgon2id = ['argon2id$v=19$m=19456,t=2,p=1'];
    for (const [name, { via }] of Object.entries(cases)) {
      expect(work[name], name).toEqual({
        verifyPassword: via === 'verifyPassword' ? 1 : 0,
        verifyDummyPassword: via === 'verifyDummyPassword' ? 1 : 0,
        argon2: oneArgon2id,
      });
    }
  });

  it('an unknown username locks out exactly like a real one', async () => {
    const lockedStatuses: Record<string, number[]> = {};
    for (const name of ['unknownUser', 'wrongPassword'] as const) {
      const client = t.client({ clientAddress: `198.51.100.${name === 'unknownUser' ? 90 : 91}` });
      lockedStatuses[name] = [];
      for (let i = 0; i < 6; i++) {
        const ticket = (await client.post('/api/signin/password', attempts[name])).body.ticket;
        lockedStatuses[name]!.push((await client.post('/api/signin/totp', { ticket, code: '000000' })).status);
      }
    }
    expect(lockedStatuses.unknownUser).toEqual([401, 401, 401, 401, 401, 429]);
    expect(lockedStatuses.wrongPassword).toEqual(lockedStatuses.unknownUser);
  });

  it('headers that look like a trusted source or debugging never skip the second factor', async () => {
    const client = t.client({ clientAddress: '127.0.0.1' });
    const response = await client.post('/api/signin/password', attempts.rightPassword, {
      'x-forwarded-for': '127.0.0.1',
      'x-real-ip': '127.0.0.1',
      'x-debug': 'true',
      'x-skip-2fa': '1',
      'x-remembered-device': '1',
    });
    expect(response.body).toEqual({ ticket: expect.any(String), methods: ['totp', 'backup_code'] });
    expect((await client.get('/api/session')).status).toBe(401);
  });
});
