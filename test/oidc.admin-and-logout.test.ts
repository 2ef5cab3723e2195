import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { seedSignedInUser } from './helpers/app.ts';
import { useOidcServer } from './helpers/oidc.ts';

const oidc = await useOidcServer();
const { t } = oidc;
const signedInToApp = () => oidc.signedInToApp({ postLogoutRedirectUris: ['https://app.example.com/bye'] });

describe('OpenID Connect: RP-initiated logout, a disabled account, the admin API', () => {

  it('RP-initiated logout: the user confirms, lands on the app post-logout URI, and the Latch session and app tokens end', async () => {
    const { config, browser, tokens } = await signedInToApp();
    const url = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://app.example.com/bye', state: 'bye' });
    const prompt = await browser.get(url.href);
    expect(prompt.status).toBe(200);
    expect(prompt.body).toContain('Sign out of Latch?');
    // Not frameable (a clickjacked "Sign out"), like every Latch page.
    expect(prompt.headers.get('x-frame-options')).toBe('DENY');
    expect(prompt.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(prompt.body)![1]!;
    const action = /action="([^"]+)"/.exec(prompt.body)![1]!;
    const confirmed = await browser.post(action, `xsrf=${encodeURIComponent(xsrf)}&logout=yes`, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get('location')).toBe('https://app.example.com/bye?state=bye');

    expect((await browser.get('/api/session')).status).toBe(401);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('disabling the account ends the app tokens', async () => {
    const { config, account, tokens } = await signedInToApp();
    await t.db.updateTable('users').set({ status: 'disabled', disabled_at: t.clock.now() }).where('id', '=', account.user.id).execute();
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('the admin API registers, lists and deletes clients with a fresh passkey proof, audited; a member is refused', async () => {
    const admin = t.client();
    const seeded = await seedSignedInUser(t, admin, { username: `admin-${Math.random().toString(36).slice(2, 8)}` });
    await t.db.updateTable('users').set({ is_admin: true }).where('id', '=', seeded.user.id).execute();

    const created = await admin.post('/api/admin/oidc/clients', { name: 'Grafana', redirectUris: ['https://grafana.example.com/login/generic_oauth'], firstParty: true });
    expect(created.status).toBe(201);
    expect(created.body.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { clientId } = created.body.client;
    expect((await admin.get('/api/admin/oidc/clients')).body.clients.map((c: { clientId: string }) => c.clientId)).toContain(clientId);
    expect((await admin.post('/api/admin/oidc/clients', { name: 'Bad', redirectUris: ['javascript:alert(1)'] })).status).toBe(400);
    expect((await admin.delete(`/api/admin/oidc/clients/${clientId}`)).status).toBe(204);
    expect((await admin.delete(`/api/admin/oidc/clients/${clientId}`)).status).toBe(404);
    const audit = await t.db.selectFrom('audit_events').select(['action', 'actor_user_id']).where('action', 'like', 'oidc_client.%').where('actor_user_id', '=', seeded.user.id).execute();
    expect(audit.map((row) => row.action).sort()).toEqual(['oidc_client.create', 'oidc_client.delete']);
    expect(JSON.stringify(await t.db.selectFrom('audit_events').selectAll().execute())).not.toContain(created.body.clientSecret);

    // A stale passkey proof: step up first.
    t.clock.advance(6 * 60);
    expect((await admin.post('/api/admin/oidc/clients', { name: 'Late', redirectUris: ['https://late.example.com/cb'] })).body.error.code).toBe('step_up_required');
    t.clock.set(new Date());

    const member = t.client();
    await seedSignedInUser(t, member);
    expect((await member.get('/api/admin/oidc/clients')).status).toBe(403);
  });

  it('the interaction and admin routes are in /openapi.json', async () => {
    const paths = Object.keys((await t.client().get('/openapi.json')).body.paths);
    expect(paths).toEqual(expect.arrayContaining(['/api/oidc/interaction/{uid}/login', '/api/oidc/interaction/{uid}/consent', '/api/admin/oidc/clients', '/api/admin/oidc/clients/{clientId}']));
  });
});
