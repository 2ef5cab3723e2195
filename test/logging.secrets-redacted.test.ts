import { describe, expect, it } from 'vitest';
import { createLogger, REDACTED } from '../src/logger.ts';
import { createTestApp } from './helpers/app.ts';
import { signInWithTotp, signUpWithTotp } from './helpers/fallback.ts';
import { signedUpUser, signInWithPasskey } from './helpers/passkeys.ts';

describe('logs leak no secret: secret-bearing fields are redacted wherever a caller puts them', () => {
  it('a request logged with its headers, body and WebAuthn response shows none of the secrets', () => {
    const lines: string[] = [];
    const logger = createLogger('debug', (line) => lines.push(line)).child({ requestId: 'req-1', cookie: 'latch_session=child-binding-secret' });
    const secrets = [
      'hunter2-password-canary',
      '123456',
      'session-token-canary',
      'Bearer api-token-canary',
      'JBSWY3DPEHPK3PXPsecret',
      'otpauth://totp/Latch:alice?secret=JBSWY3DPEHPK3PXP',
      'abcde-fghij-kmnpq',
      'client-data-json-canary',
      'authenticator-data-canary',
      'signature-canary',
      'ticket-canary',
      'child-binding-secret',
    ];
    logger.info('request', {
      method: 'POST',
      route: '/api/signin/totp',
      headers: { cookie: '__Host-latch_session=session-token-canary', authorization: 'Bearer api-token-canary', 'user-agent': 'Test/1.0' },
      body: { password: 'hunter2-password-canary' },
      input: {
        password: 'hunter2-password-canary',
        newPassword: 'hunter2-password-canary',
        code: '123456',
        ticket: 'ticket-canary',
        nested: { deeper: { secret: 'JBSWY3DPEHPK3PXPsecret', otpauthUri: 'otpauth://totp/Latch:alice?secret=JBSWY3DPEHPK3PXP' } },
        backupCodes: ['abcde-fghij-kmnpq'],
        response: { id: 'cred', response: { clientDataJSON: 'client-data-json-canary', authenticatorData: 'authenticator-data-canary', signature: 'signature-canary' } },
      },
      status: 200,
    });
    const output = lines.join('\n');
    for (const secret of secrets) expect(output).not.toContain(secret);
    const line = JSON.parse(lines[0]!);
    // What is not secret stays readable: the line is still useful.
    expect(line).toMatchObject({ level: 'info', message: 'request', requestId: 'req-1', method: 'POST', route: '/api/signin/totp', status: 200 });
    expect(line.headers).toEqual({ cookie: REDACTED, authorization: REDACTED, 'user-agent': 'Test/1.0' });
    expect(line.input.nested.deeper).toEqual({ secret: REDACTED, otpauthUri: REDACTED });
  });

  it('a full TOTP sign-up and sign-in and a passkey sign-in at debug level log request lines bound to their id, without any secret', async () => {
    const lines: string[] = [];
    const t = await createTestApp({ logger: createLogger('debug', (line) => lines.push(line)) });
    const client = t.client();
    const user = await signUpWithTotp(t, client, { password: 'log canary passphrase' });
    const signedIn = await signInWithTotp(t, t.client(), user);
    expect(signedIn.status).toBe(200);
    const passkey = await signedUpUser(t);
    const passkeyClient = t.client();
    const run = await signInWithPasskey(passkeyClient, passkey.authenticator);
    expect(run.response.status).toBe(200);

    const output = lines.join('\n');
    for (const secret of [user.password, user.secret, user.otpauthUri, ...user.backupCodes, client.sessionToken!, passkeyClient.sessionToken!, run.body.response.response.signature]) {
      expect(output).not.toContain(secret);
    }
    const requests = lines.map((line) => JSON.parse(line)).filter((line) => line.message === 'request');
    expect(requests.length).toBeGreaterThanOrEqual(6);
    for (const request of requests) expect(request.requestId).toMatch(/^[0-9a-f-]{36}$/);
    // Routes by their pattern: a path parameter never reaches the log.
    expect(requests.map((request) => request.route)).toEqual(expect.arrayContaining(['/api/signup/totp/start', '/api/signin/totp', '/api/signin/passkey/verify']));
  });
});
