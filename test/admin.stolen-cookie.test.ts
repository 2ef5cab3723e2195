import { describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../src/admin/actor.ts';
import { setAdminRole } from '../src/admin/users.ts';
import { SESSION_COOKIE } from '../src/http/session-cookie.ts';
import { addTotp, anonymous, createFlows, passkeySignIn, signedInAs, signInTotp, signUpPasskeyUser, signUpTotpUser, uniqueUsername } from './auth/helpers.ts';

/**
 * Threat: someone steals an administrator's session cookie (malware, a leaked log, a shared
 * machine) and perhaps phishes their authenticator code too. Admin actions need a passkey proof
 * with user verification made in that session within five minutes (fifteen for reading): the
 * cookie alone, or the cookie plus a code, is refused.
 */
const f = await createFlows();

async function adminWithPasskeyAndApp() {
  const admin = await signUpPasskeyUser(f, {}, { username: uniqueUsername('admin') });
  await f.t.db.transaction().execute((trx) => setAdminRole(trx, anonymous(f), CLI_ACTOR, { userId: admin.user.id, isAdmin: true }));
  const app = await addTotp(f, await signedInAs(f, admin.established));
  // A later passkey sign-in: the app was bound in the first session, and could not step that one up.
  const { established } = await passkeySignIn(f, admin);
  return { ...admin, established, app };
}

function thief(token: string) {
  const client = f.t.client({ clientAddress: '198.51.100.66' });
  client.cookies.set(SESSION_COOKIE, token);
  return client;
}

describe('a stolen admin cookie alone is not enough', () => {
  it('six minutes after the passkey sign-in, the cookie cannot disable anyone: step_up_required, passkey only', async () => {
    const admin = await adminWithPasskeyAndApp();
    const victim = await signUpPasskeyUser(f);
    f.t.clock.advance(6 * 60);
    const stolen = thief(admin.established.token);
    const refused = await stolen.post(`/api/admin/users/${victim.user.id}/disable`);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'step_up_required', methods: ['passkey'], maxAgeSeconds: 300 });
    expect((await f.t.db.selectFrom('users').select('status').where('id', '=', victim.user.id).executeTakeFirstOrThrow()).status).toBe('active');
    // Reading is allowed for fifteen minutes after the proof, then refused too.
    expect((await stolen.get('/api/admin/users?limit=1')).status).toBe(200);
    f.t.clock.advance(10 * 60);
    expect((await stolen.get(`/api/admin/users/${victim.user.id}`)).body.error).toMatchObject({ code: 'step_up_required', methods: ['passkey'] });
  });

  it('the cookie plus a phished authenticator code still cannot act: a TOTP step-up is no passkey proof', async () => {
    const admin = await adminWithPasskeyAndApp();
    const victim = await signUpPasskeyUser(f);
    f.t.clock.advance(6 * 60);
    const stolen = thief(admin.established.token);
    const stepped = await stolen.post('/api/step-up/totp', { code: admin.app.code() });
    expect(stepped.status).toBe(200);
    const refused = await stolen.post(`/api/admin/users/${victim.user.id}/disable`);
    expect(refused.body.error).toMatchObject({ code: 'step_up_required', methods: ['passkey'] });
  });

  it('an admin signed in with password + code (phishable) is refused until a passkey proves it is them', async () => {
    const admin = await signUpTotpUser(f);
    await f.t.db.updateTable('users').set({ is_admin: true }).where('id', '=', admin.user.id).execute();
    const phished = await signInTotp(f, admin);
    const refused = await thief(phished.established.token).get('/api/admin/users');
    expect(refused.status).toBe(403);
    // The account has no passkey: nothing could satisfy the rule, so it says so instead of offering a loop.
    expect(refused.body.error).toMatchObject({ code: 'forbidden', reason: 'no_step_up_method' });
  });

  it('the owner with the passkey steps up and may act again (the refusal was about the proof, not the admin)', async () => {
    const admin = await adminWithPasskeyAndApp();
    const victim = await signUpPasskeyUser(f);
    f.t.clock.advance(6 * 60);
    const owner = thief(admin.established.token);
    const options = await owner.post('/api/step-up/passkey/options');
    const verified = await owner.post('/api/step-up/passkey/verify', { ceremonyId: options.body.ceremonyId, response: admin.authenticator.assert(options.body.options) });
    expect(verified.status).toBe(200);
    const disabled = await owner.post(`/api/admin/users/${victim.user.id}/disable`);
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ user: { id: victim.user.id, status: 'disabled' }, endedSessions: 1 });
    const audit = await f.t.db.selectFrom('audit_events').selectAll().where('action', '=', 'user.disable').where('subject_user_id', '=', victim.user.id).executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ actor_user_id: admin.user.id, session_id: admin.established.session.id, outcome: 'success' });
  });
});
