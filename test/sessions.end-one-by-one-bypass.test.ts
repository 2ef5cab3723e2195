import { describe, expect, it } from 'vitest';
import { createTestApp, seedSignedInUser } from './helpers/app.ts';

const t = await createTestApp();

/**
 * Issue 10, finding 5: a session refused "end other sessions" by the policy could end the owner's
 * sessions one by one with DELETE /api/sessions/{id}.
 */
describe('ending another session needs what ending all others needs', () => {
  it('a stale session cannot end the others one at a time; after a step-up it can; ending itself is signing out', async () => {
    const attacker = t.client();
    const { user, factors } = await seedSignedInUser(t, attacker, { factors: [{ kind: 'passkey' }, { kind: 'totp' }] });
    const owner = t.client();
    const { createSession } = await import('../src/sessions/sessions.ts');
    const { SESSION_COOKIE } = await import('../src/http/session-cookie.ts');
    const ownerSession = await createSession(
      t.db,
      t.keyring,
      user.id,
      { amr: ['passkey', 'uv'], factorIds: [factors[0]!.id], aal: 2, phishingResistant: true },
      { idleSeconds: t.config.sessionIdleSeconds, absoluteSeconds: t.config.sessionAbsoluteSeconds },
      { now: t.clock.now(), clientAddress: '198.51.100.9', userAgent: 'Owner', requestId: null },
    );
    owner.cookies.set(SESSION_COOKIE, ownerSession.token);

    t.clock.advance(16 * 60);
    expect((await attacker.post('/api/sessions/revoke-others')).body.error.code).toBe('step_up_required');
    const oneByOne = await attacker.delete(`/api/sessions/${ownerSession.session.id}`);
    expect(oneByOne.status).toBe(403);
    expect(oneByOne.body.error.code).toBe('step_up_required');
    expect((await owner.get('/api/session')).status).toBe(200);

    // The owner's own session ends itself without any step-up: that is signing out.
    expect((await owner.delete(`/api/sessions/${ownerSession.session.id}`)).status).toBe(204);
    expect((await owner.get('/api/session')).status).toBe(401);
  });
});
