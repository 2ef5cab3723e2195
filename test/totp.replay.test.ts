import { describe, expect, it } from 'vitest';
import { createTestApp } from './helpers/app.ts';
import { passwordStep, signInWithTotp, signUpWithTotp } from './helpers/fallback.ts';

const t = await createTestApp();

describe('TOTP replay: a code is accepted once', () => {
  it('the code that confirmed enrollment cannot sign in', async () => {
    const client = t.client();
    const start = await client.post('/api/signup/totp/start', { username: 'replay-enroll', password: 'a very good password' });
    const { codeFromUri } = await import('./helpers/authenticator.ts');
    const code = codeFromUri(start.body.otpauthUri, t.clock.now());
    expect((await client.post('/api/signup/totp/verify', { ceremonyId: start.body.ceremonyId, code })).status).toBe(201);
    const ticket = await passwordStep(t.client(), 'replay-enroll', 'a very good password');
    const other = t.client();
    const again = await other.post('/api/signin/totp', { ticket, code });
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('code_invalid');
  });

  it('a code accepted at sign-in is refused a second time within its window', async () => {
    const user = await signUpWithTotp(t, t.client());
    const first = t.client();
    const accepted = await signInWithTotp(t, first, user);
    expect(accepted.status).toBe(200);
    const code = user.code();

    const attacker = t.client({ clientAddress: '198.51.100.7' });
    const ticket = await passwordStep(attacker, user.username, user.password);
    const replay = await attacker.post('/api/signin/totp', { ticket, code });
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('code_invalid');
    expect((await attacker.get('/api/session')).status).toBe(401);
  });

  it('after a code is used, the previous step’s code (still inside ±1) is refused too', async () => {
    const user = await signUpWithTotp(t, t.client());
    expect((await signInWithTotp(t, t.client(), user)).status).toBe(200);
    const client = t.client();
    const ticket = await passwordStep(client, user.username, user.password);
    const earlier = await client.post('/api/signin/totp', { ticket, code: user.code(-1) });
    expect(earlier.status).toBe(401);
    // The next step's code (clock skew ahead) is still fine, and then this step's is not.
    expect((await client.post('/api/signin/totp', { ticket, code: user.code(1) })).status).toBe(200);
    const after = t.client();
    const ticket2 = await passwordStep(after, user.username, user.password);
    expect((await after.post('/api/signin/totp', { ticket: ticket2, code: user.code() })).status).toBe(401);
  });

  it('two concurrent sign-ins with the same code: exactly one wins', async () => {
    const user = await signUpWithTotp(t, t.client());
    t.clock.advance(30);
    const clients = [t.client(), t.client({ clientAddress: '203.0.113.20' }), t.client({ clientAddress: '203.0.113.21' })];
    const tickets = await Promise.all(clients.map((client) => passwordStep(client, user.username, user.password)));
    const code = user.code();
    const other = t.anotherInstance();
    const responses = await Promise.all(clients.map((client, i) => (i % 2 ? client.via(other) : client).post('/api/signin/totp', { ticket: tickets[i], code })));
    expect(responses.map((response) => response.status).sort()).toEqual([200, 401, 401]);
  });

  it('step-up with TOTP rotates the session and refuses the same code again', async () => {
    const client = t.client();
    const user = await signUpWithTotp(t, client);
    t.clock.advance(30);
    const before = client.sessionToken;
    const code = user.code();
    const stepped = await client.post('/api/step-up/totp', { code });
    expect(stepped.status).toBe(200);
    expect(stepped.body.session.steppedUpAt).not.toBeNull();
    expect(client.sessionToken).not.toBe(before);
    const again = await client.post('/api/step-up/totp', { code });
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('code_invalid');
  });
});

describe('TOTP time window: server time only, ±1 step', () => {
  it('−1 and +1 steps are accepted; ±2 steps are refused', async () => {
    const user = await signUpWithTotp(t, t.client());
    for (const [offset, status] of [[2, 401], [-2, 401], [-1, 200], [1, 200]] as const) {
      t.clock.advance(90); // far past the last accepted step
      const client = t.client({ clientAddress: `192.0.2.${Math.abs(offset) + (offset > 0 ? 10 : 20)}` });
      const ticket = await passwordStep(client, user.username, user.password);
      const response = await client.post('/api/signin/totp', { ticket, code: user.code(offset) });
      expect(response.status, `offset ${offset}`).toBe(status);
    }
  });

  it('a time the client supplies is ignored', async () => {
    const user = await signUpWithTotp(t, t.client());
    t.clock.advance(300);
    const client = t.client();
    const ticket = await passwordStep(client, user.username, user.password);
    const stale = user.code(-5);
    const staleAt = new Date(t.clock.now().getTime() - 150_000);
    const response = await client.post(
      '/api/signin/totp',
      { ticket, code: stale, time: staleAt.toISOString(), epoch: Math.floor(staleAt.getTime() / 1000) },
      { date: staleAt.toUTCString(), 'x-client-time': staleAt.toISOString() },
    );
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('code_invalid');
    // The same ticket takes the code of the server's time: only the client's time was refused.
    expect((await client.post('/api/signin/totp', { ticket, code: user.code() })).status).toBe(200);
  });
});
