import { describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../src/admin/actor.ts';
import { setAdminRole } from '../src/admin/users.ts';
import { SESSION_COOKIE } from '../src/http/session-cookie.ts';
import { addTotp, anonymous, createFlows, passkeySignIn, signedInAs, signInTotp, signUpPasskeyUser, signUpTotpUser, uniqueUsername } from './auth/helpers.ts';

/**
 * Threat: a stolen administrator cookie (perhaps with a phished authenticator code) reads the
 * adoption dashboard or exports the whole user list. Both are admin.read: a passkey proof with
 * user verification in that session within fifteen minutes; the cookie alone is refused, and no
 * CSV byte leaves before the policy said yes.
 */
const f = await createFlows();
const ROUTES = ['/api/admin/adoption', '/api/admin/adoption/users.csv'];

async function admin() {
  const person = await signUpPasskeyUser(f, {}, { username: uniqueUsername('admin') });
  await f.t.db.transaction().execute((trx) => setAdminRole(trx, anonymous(f), CLI_ACTOR, { userId: person.user.id, isAdmin: true }));
  const app = await addTotp(f, await signedInAs(f, person.established));
  const { established } = await passkeySignIn(f, person);
  return { ...person, established, app };
}

function thief(token: string) {
  const client = f.t.client({ clientAddress: '198.51.100.66' });
  client.cookies.set(SESSION_COOKIE, token);
  return client;
}

async function exports() {
  return f.t.db.selectFrom('audit_events').select('id').where('action', '=', 'admin.export_users').execute();
}

describe('a stolen admin cookie cannot read the adoption figures or export the users', () => {
  it('within fifteen minutes of the passkey proof the session reads; after, the cookie is refused with step_up_required (passkey)', async () => {
    const person = await admin();
    const stolen = thief(person.established.token);
    for (const route of ROUTES) expect((await stolen.get(route)).status).toBe(200);
    f.t.clock.advance(16 * 60);
    const before = (await exports()).length;
    for (const route of ROUTES) {
      const refused = await stolen.get(route);
      expect(refused.status).toBe(403);
      expect(refused.headers.get('content-type')).toMatch(/application\/json/);
      expect(refused.body.error).toMatchObject({ code: 'step_up_required', methods: ['passkey'] });
    }
    // A refused export is not recorded as one.
    expect((await exports()).length).toBe(before);
  });

  it('a phished authenticator code does not help: a TOTP step-up is no passkey proof', async () => {
    const person = await admin();
    f.t.clock.advance(16 * 60);
    const stolen = thief(person.established.token);
    expect((await stolen.post('/api/step-up/totp', { code: person.app.code() })).status).toBe(200);
    for (const route of ROUTES) expect((await stolen.get(route)).body.error).toMatchObject({ code: 'step_up_required', methods: ['passkey'] });
  });

  it('an admin signed in with password + code is refused outright (no passkey to step up with)', async () => {
    const person = await signUpTotpUser(f);
    await f.t.db.updateTable('users').set({ is_admin: true }).where('id', '=', person.user.id).execute();
    const phished = await signInTotp(f, person);
    for (const route of ROUTES) {
      const refused = await thief(phished.established.token).get(route);
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({ code: 'forbidden', reason: 'no_step_up_method' });
    }
  });
});
