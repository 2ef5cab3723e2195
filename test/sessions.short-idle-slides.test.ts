import { describe, expect, it } from 'vitest';
import { createTestApp, seedSignedInUser } from './helpers/app.ts';

const t = await createTestApp({ env: { LATCH_SESSION_IDLE_SECONDS: '40' } });

/**
 * Issue 10: last-seen was written at most once a minute, so with an idle timeout under 60 s an
 * active session never slid and ended mid-use.
 */
describe('a short idle timeout still slides with activity', () => {
  it('requests every 15 s keep a 40 s session alive for minutes; 41 s of silence end it', async () => {
    const client = t.client();
    await seedSignedInUser(t, client);
    for (let i = 0; i < 12; i++) {
      t.clock.advance(15);
      expect((await client.get('/api/session')).status, `after ${(i + 1) * 15} s`).toBe(200);
    }
    t.clock.advance(41);
    expect((await client.get('/api/session')).status).toBe(401);
  });
});
