import { describe, expect, it } from 'vitest';
import { hashPassword } from '../src/factors/password.ts';
import { createUser } from '../src/users/users.ts';
import { createTestApp, insertFactor } from './helpers/app.ts';
import { GOOD_PASSWORD, signUpWithTotp } from './helpers/fallback.ts';

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

  it('similar timing: an unknown user costs the same argon2 work as a wrong password', async () => {
    const median = async (body: object) => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        await t.client().post('/api/signin/password', body);
        times.push(performance.now() - started);
      }
      return times.sort((a, b) => a - b)[2]!;
    };
    await median(attempts.unknownUser); // warm the dummy hash
    const unknown = await median(attempts.unknownUser);
    const wrong = await median(attempts.wrongPassword);
    expect(unknown / wrong).toBeGreaterThan(0.5);
    expect(unknown / wrong).toBeLessThan(2);
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
