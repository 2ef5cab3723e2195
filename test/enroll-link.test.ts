import { describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../src/admin/actor.ts';
import { ADMIN_LINK_TTL_SECONDS, issueEnrollmentLink } from '../src/admin/enrollment.ts';
import { createTestApp } from './helpers/app.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const t = await createTestApp();
const context = () => ({ now: t.clock.now(), clientAddress: null, userAgent: 'latch-cli', requestId: null });

async function adminLink(username = `new-admin-${Math.random().toString(36).slice(2, 8)}`) {
  const issued = await t.db.transaction().execute((trx) => issueEnrollmentLink(trx, t.keyring, context(), CLI_ACTOR, { username, purpose: 'admin', ttlSeconds: ADMIN_LINK_TTL_SECONDS }));
  return { ...issued, username };
}

describe('enrolling a passkey through an admin enrollment link', () => {
  it('registers a passkey, uses the link up, makes the user an administrator who may act at once, and signs the browser in', async () => {
    const { token, user, username } = await adminLink();
    const browser = t.client();
    const authenticator = new SoftAuthenticator();
    const started = await browser.post('/api/enroll/passkey/options', { token });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ purpose: 'admin', user: { username } });
    const verified = await browser.post('/api/enroll/passkey/verify', { token, ceremonyId: started.body.ceremonyId, response: authenticator.register(started.body.options), label: 'YubiKey' });
    expect(verified.status).toBe(201);
    expect(verified.body).toMatchObject({ user: { id: user.id, username }, purpose: 'admin' });

    expect((await browser.get('/api/session')).body.session).toMatchObject({ aal: 2, phishingResistant: true, amr: ['passkey', 'uv'] });
    expect((await browser.get('/api/admin/users?limit=5')).status).toBe(200);
    const row = await t.db.selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.is_admin).toBe(true);
    const audit = await t.db.selectFrom('audit_events').select(['action', 'outcome', 'actor_user_id']).where('subject_user_id', '=', user.id).orderBy('id').execute();
    expect(audit.map((each) => each.action)).toEqual(['user.create', 'enrollment_link.create', 'user.promote', 'session.create', 'enrollment_link.passkey']);
    expect(JSON.stringify(await t.db.selectFrom('audit_events').selectAll().execute())).not.toContain(token);

    // Single use: the same link again is refused, whoever holds it.
    const again = await t.client().post('/api/enroll/passkey/options', { token });
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('enrollment_link_invalid');
  });

  it('an admin link enrolls a passkey only: the authenticator-app path is refused (administration needs a passkey)', async () => {
    const { token } = await adminLink();
    const refused = await t.client().post('/api/enroll/fallback/options', { token, password: 'a long enough password for an admin' });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('enrollment_link_invalid');
    // … and the link still works for its passkey.
    expect((await t.client().post('/api/enroll/passkey/options', { token })).status).toBe(200);
  });

  it('a registration that fails leaves the link usable; the right one then works', async () => {
    const { token } = await adminLink();
    const browser = t.client();
    const authenticator = new SoftAuthenticator();
    const first = await browser.post('/api/enroll/passkey/options', { token });
    const second = await browser.post('/api/enroll/passkey/options', { token });
    // Answering the second ceremony's challenge under the first ceremony's id: the challenge does not match.
    const refused = await browser.post('/api/enroll/passkey/verify', { token, ceremonyId: first.body.ceremonyId, response: authenticator.register(second.body.options) });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('passkey_verification_failed');
    const third = await browser.post('/api/enroll/passkey/options', { token });
    expect(third.status).toBe(200);
    const ok = await browser.post('/api/enroll/passkey/verify', { token, ceremonyId: third.body.ceremonyId, response: authenticator.register(third.body.options) });
    expect(ok.status).toBe(201);
  });

  it('an unknown, malformed or expired token, or a disabled account, is one answer: enrollment_link_invalid', async () => {
    const browser = t.client();
    expect((await browser.post('/api/enroll/passkey/options', { token: 'A'.repeat(43) })).body.error.code).toBe('enrollment_link_invalid');
    expect((await browser.post('/api/enroll/passkey/options', { token: 'no spaces' })).status).toBe(400);
    const expired = await adminLink();
    t.clock.advance(ADMIN_LINK_TTL_SECONDS + 1);
    expect((await browser.post('/api/enroll/passkey/options', { token: expired.token })).body.error.code).toBe('enrollment_link_invalid');
    const disabled = await adminLink();
    await t.db.updateTable('users').set({ status: 'disabled' }).where('id', '=', disabled.user.id).execute();
    expect((await browser.post('/api/enroll/passkey/options', { token: disabled.token })).body.error.code).toBe('enrollment_link_invalid');
  });

  it('serves the /enroll page', async () => {
    const page = await t.client().get('/enroll');
    expect(page.status).toBe(200);
    // The page names its script by content hash (src/http/static-files.ts).
    expect(String(page.body)).toMatch(/src="\/build\/enroll\.page-[A-Z0-9]+\.js"/);
  });
});
