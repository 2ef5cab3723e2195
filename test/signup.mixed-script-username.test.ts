import { describe, expect, it } from 'vitest';
import { isSingleScriptUsername } from '../src/http/schemas.ts';
import { createUser } from '../src/users/users.ts';
import { createTestApp, insertFactor } from './helpers/app.ts';
import { GOOD_PASSWORD } from './helpers/fallback.ts';
import { signUpWithPasskey } from './helpers/passkeys.ts';
import { SoftAuthenticator } from './helpers/soft-authenticator.ts';

const t = await createTestApp();
let addressCounter = 0;
const client = () => t.client({ clientAddress: `198.18.0.${(++addressCounter % 250) + 1}` });

/** "pаypal" with a Cyrillic а (U+0430), "аpple" likewise, "gοogle" with a Greek ο (U+03BF). */
const LOOK_ALIKES = ['p\u0430ypal', '\u0430pple', 'g\u03bfogle', 'admin\u0456strator'];

describe('look-alike usernames mixing scripts are refused at sign-up', () => {
  for (const username of LOOK_ALIKES) {
    it(`${JSON.stringify(username)} (mixed scripts) is refused with a clear message, by both sign-up routes`, async () => {
      for (const response of [
        await client().post('/api/signup/passkey/options', { username }),
        await client().post('/api/signup/totp/start', { username, password: GOOD_PASSWORD }),
      ]) {
        expect(response.status).toBe(400);
        expect(response.body.error.code).toBe('validation_failed');
        expect(response.body.error.issues).toEqual([expect.objectContaining({ path: 'username', message: expect.stringMatching(/one script/) })]);
      }
    });
  }

  it('names in one script sign up: Latin, Cyrillic, Greek, Japanese (kanji with kana), with digits and . _ - @ +', async () => {
    for (const username of ['paypal.fan_99', 'пэйпал', 'ελένη-2', '田中さん', 'kim+test@example.com']) {
      const run = await signUpWithPasskey(client(), new SoftAuthenticator(), { username });
      expect(run.response.status, `${username}: ${JSON.stringify(run.response.body)}`).toBe(201);
    }
  });

  it('the rule: letters of one script (or one writing system), ASCII digits, . _ - @ +, combining marks', () => {
    expect(isSingleScriptUsername('jose\u0301')).toBe(true);
    expect(isSingleScriptUsername('김철수')).toBe(true);
    expect(isSingleScriptUsername('12345')).toBe(true);
    expect(isSingleScriptUsername('alice smith')).toBe(false);
    expect(isSingleScriptUsername('ΑΒΓabc')).toBe(false);
  });

  it('an account whose name mixes scripts (made before the rule) still signs in', async () => {
    const username = 'leg\u0430cy';
    const user = (await createUser(t.db, { username }, t.clock.now()))!;
    await insertFactor(t.db, user.id, { kind: 'passkey' }, t.clock.now());
    const options = await client().post('/api/signin/passkey/options', { username });
    expect(options.status).toBe(200);
    expect(options.body.options.allowCredentials).toHaveLength(1);
    const password = await client().post('/api/signin/password', { username, password: GOOD_PASSWORD });
    expect(password.status).toBe(200);
  });
});
