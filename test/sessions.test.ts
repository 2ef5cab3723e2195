import { describe, expect, it } from 'vitest';
import { createTestApp, seedSignedInUser } from './helpers/app.ts';

const t = await createTestApp();

describe('sessions', () => {
  it('GET /api/session answers 401 without a cookie and the session with one', async () => {
    const anonymous = t.client();
    expect((await anonymous.get('/api/session')).status).toBe(401);
    const client = t.client();
    const { user } = await seedSignedInUser(t, client);
    const response = await client.get('/api/session');
    expect(response.status).toBe(200);
    expect(response.body.user.id).toBe(user.id);
    expect(response.body.session).toMatchObject({ aal: 2, phishingResistant: true, amr: ['passkey', 'uv'] });
  });
});
