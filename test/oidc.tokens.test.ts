import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import type { CliContext } from '../src/cli/context.ts';
import { EXIT_OK, runCli } from '../src/cli/program.ts';
import { loadConfig } from '../src/config.ts';
import { revokeFactor } from '../src/factors/revocation.ts';
import { endGrantsOfEndedSessions } from '../src/oidc/logout.ts';
import { backchannelReceiver, useOidcServer, verifyJwt } from './helpers/oidc.ts';
import { createOidc } from '../src/oidc/provider.ts';

const { t, latch, registerApp, jwks, signedInToApp } = await useOidcServer();

describe('OpenID Connect tokens: refresh rotation, client credentials, revocation reaching apps, key rotation', () => {
  async function latchCli(...argv: string[]) {
    const lines: string[] = [];
    let stderr = '';
    const context: CliContext = { deps: { db: t.db, keyring: t.keyring, config: t.config }, clock: t.clock, out: (line) => lines.push(line) };
    const code = await runCli(argv, { withContext: (work) => work(context), out: (text) => lines.push(text), err: (text) => (stderr += text) });
    return { code, stdout: lines.join('\n'), stderr };
  }

  it('a refresh token rotates on each use; presenting a used one again revokes the whole grant', async () => {
    const { config, tokens } = await signedInToApp();
    const first = tokens.refresh_token!;
    expect(first).toBeTruthy();
    const second = await client.refreshTokenGrant(config, first);
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first);
    expect(second.expires_in).toBeLessThanOrEqual(15 * 60);

    // A thief replays the first one: refused, and the legitimate app's current one dies with it.
    await expect(client.refreshTokenGrant(config, first)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(client.refreshTokenGrant(config, second.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('client credentials: a server-to-server token for a confidential client (no refresh token, at most 15 minutes)', async () => {
    const { registered, config } = await registerApp({ redirectUris: [], grantTypes: ['client_credentials'], scope: 'openid' });
    const tokens = await client.clientCredentialsGrant(config);
    expect(tokens.access_token).toBeTruthy();
    expect(tokens.refresh_token).toBeUndefined();
    expect(tokens.expires_in).toBeLessThanOrEqual(15 * 60);

    const wrong = await latch.relyingParty(registered.clientId, 'not-the-secret');
    await expect(client.clientCredentialsGrant(wrong)).rejects.toMatchObject({ status: 401, cause: [{ parameters: { error: 'invalid_client' } }] });
  });

  it('revoking the factor that signed the user in ends the app refresh token at once, and a back-channel logout reaches the app', async () => {
    const receiver = await backchannelReceiver();
    const { config, account, tokens, registered } = await signedInToApp({ backchannelLogoutUri: receiver.url });
    const passkey = await t.db.selectFrom('factors').select('id').where('user_id', '=', account.user.id).where('kind', '=', 'passkey').executeTakeFirstOrThrow();
    await t.db.transaction().execute((trx) =>
      revokeFactor(trx, { now: t.clock.now(), clientAddress: null, userAgent: 'test', requestId: null }, { userId: account.user.id, factorId: passkey.id, actorUserId: null, reason: 'test' }),
    );
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    const oidc = createOidc({ db: t.db, keyring: t.keyring, config: t.config, logger: t.logger });
    expect(await endGrantsOfEndedSessions({ db: t.db, logger: t.logger }, oidc)).toBe(1);
    expect(receiver.received).toHaveLength(1);
    const { claims } = verifyJwt(receiver.received[0]!, await jwks());
    expect(claims).toMatchObject({ sub: account.user.id, aud: registered.clientId, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } });
    expect(await t.db.selectFrom('oidc_payloads').select('id').where('latch_session_id', 'is not', null).where('payload', '@>', JSON.stringify({ accountId: account.user.id }) as never).execute()).toEqual([]);
    // Swept once: a second sweep has nothing to tell.
    expect(await endGrantsOfEndedSessions({ db: t.db, logger: t.logger }, oidc)).toBe(0);
  });

  it('signing out of Latch ends the app refresh token', async () => {
    const { config, browser, tokens } = await signedInToApp();
    expect((await browser.delete('/api/session')).status).toBeLessThan(300);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('latch oidc rotate-keys: new tokens are signed by the new key; a token signed before still verifies against the JWKS', async () => {
    const before = await signedInToApp();
    const oldKid = verifyJwt(before.tokens.id_token!, await jwks()).header.kid;

    const rotated = await latchCli('oidc', 'rotate-keys');
    expect(rotated.code).toBe(EXIT_OK);
    const newKid = /New ES256 signing key ([0-9a-f-]{36})/.exec(rotated.stdout)![1];
    expect(rotated.stdout).toContain(oldKid);

    const after = await signedInToApp();
    const fresh = verifyJwt(after.tokens.id_token!, await jwks());
    expect(fresh.header.kid).toBe(newKid);
    expect(verifyJwt(before.tokens.id_token!, await jwks()).header.kid).toBe(oldKid);
    expect((await latchCli('oidc', 'keys')).stdout).toMatch(/retiring/);
  });

  it('latch oidc clients create prints the secret once and stores only its hash; list and delete', async () => {
    const created = await latchCli('oidc', 'clients', 'create', '--name', 'Wiki', '--redirect-uri', 'https://wiki.example.com/cb', '--first-party');
    expect(created.code).toBe(EXIT_OK);
    const clientId = /client_id:\s+(\S+)/.exec(created.stdout)![1]!;
    const secret = /client_secret:\s+(\S+)/.exec(created.stdout)![1]!;
    const stored = JSON.stringify(await t.db.selectFrom('oidc_clients').selectAll().execute());
    expect(stored).not.toContain(secret);
    expect(JSON.stringify(await t.db.selectFrom('audit_events').selectAll().execute())).not.toContain(secret);
    // The secret works at the token endpoint (hash compared), and only it.
    const config = await latch.relyingParty(clientId, secret);
    expect(await client.tokenIntrospection(config, 'no-such-token')).toMatchObject({ active: false });
    const wrong = await latch.relyingParty(clientId, `${secret}x`);
    await expect(client.tokenIntrospection(wrong, 'no-such-token')).rejects.toMatchObject({ status: 401 });

    expect((await latchCli('oidc', 'clients', 'list')).stdout).toContain(`${clientId}  ·  Wiki`);
    const refused = await latchCli('oidc', 'clients', 'create', '--name', 'Bad', '--redirect-uri', 'not a url');
    expect(refused.code).not.toBe(EXIT_OK);
    expect((await latchCli('oidc', 'clients', 'delete', clientId)).code).toBe(EXIT_OK);
    expect((await latchCli('oidc', 'clients', 'list')).stdout).not.toContain(clientId);
  });

  it('refresh token lifetime is configurable within 7–30 days', () => {
    expect(loadConfig({ LATCH_OIDC_REFRESH_DAYS: '30' }).oidc.refreshTokenDays).toBe(30);
    expect(loadConfig({}).oidc.refreshTokenDays).toBe(14);
    expect(() => loadConfig({ LATCH_OIDC_REFRESH_DAYS: '6' })).toThrow(/LATCH_OIDC_REFRESH_DAYS/);
    expect(() => loadConfig({ LATCH_OIDC_REFRESH_DAYS: '31' })).toThrow(/LATCH_OIDC_REFRESH_DAYS/);
  });
});
