import { CLI_ACTOR } from '../admin/actor.ts';
import { recordAudit } from '../audit/audit.ts';
import { LatchError } from '../errors.ts';
import { createClient, deleteClient, listClients, type OidcGrantType } from '../oidc/clients.ts';
import { KEY_RETIREMENT_SECONDS, listSigningKeys, rotateSigningKeys, type SigningAlg } from '../oidc/keys.ts';
import { cliRequestContext, type CliContext } from './context.ts';

/** `latch oidc …`: the applications that sign in with Latch, and the provider's signing keys. */

export interface CreateClientOptions {
  name: string;
  redirectUri?: string[];
  postLogoutRedirectUri?: string[];
  public?: boolean;
  firstParty?: boolean;
  grant?: string[];
  scope?: string;
  backchannelLogoutUri?: string;
}

export async function createClientCommand(context: CliContext, options: CreateClientOptions): Promise<void> {
  const { client, clientSecret } = await context.deps.db.transaction().execute((trx) =>
    createClient(trx, context.deps.keyring, cliRequestContext(context), CLI_ACTOR, {
      name: options.name,
      redirectUris: options.redirectUri ?? [],
      postLogoutRedirectUris: options.postLogoutRedirectUri ?? [],
      public: options.public ?? false,
      firstParty: options.firstParty ?? false,
      ...(options.grant ? { grantTypes: options.grant as OidcGrantType[] } : {}),
      ...(options.scope ? { scope: options.scope } : {}),
      ...(options.backchannelLogoutUri ? { backchannelLogoutUri: options.backchannelLogoutUri } : {}),
    }),
  );
  context.out(`Client ${client.name} registered.`);
  context.out(`client_id:     ${client.clientId}`);
  if (clientSecret) {
    context.out(`client_secret: ${clientSecret}`);
    context.out('The secret is shown this once; Latch keeps only a hash of it. Store it in the app now.');
  } else {
    context.out('Public client: no secret; it must use PKCE (S256).');
  }
}

export async function listClientsCommand(context: CliContext, options: { json?: boolean } = {}): Promise<void> {
  const clients = await listClients(context.deps.db);
  if (options.json) {
    context.out(JSON.stringify(clients, null, 2));
    return;
  }
  if (clients.length === 0) context.out('No clients.');
  for (const client of clients) {
    context.out(
      [client.clientId, client.name, client.public ? 'public' : 'confidential', client.firstParty ? 'first-party' : 'third-party', client.grantTypes.join(','), client.redirectUris.join(' ')]
        .filter(Boolean)
        .join('  ·  '),
    );
  }
}

export async function deleteClientCommand(context: CliContext, clientId: string): Promise<void> {
  await context.deps.db.transaction().execute((trx) => deleteClient(trx, cliRequestContext(context), CLI_ACTOR, clientId));
  context.out(`Client ${clientId} deleted; its grants and tokens have ended.`);
}

export async function rotateKeysCommand(context: CliContext, options: { alg?: string }): Promise<void> {
  const alg = (options.alg ?? 'ES256') as SigningAlg;
  if (alg !== 'ES256' && alg !== 'RS256') throw new LatchError('validation_failed', '--alg must be ES256 or RS256.');
  const now = context.clock.now();
  const rotated = await rotateSigningKeys(context.deps.db, context.deps.keyring, alg, now);
  await recordAudit(context.deps.db, cliRequestContext(context), { action: 'oidc.keys.rotate', outcome: 'success', details: { alg, kid: rotated.kid, retired: rotated.retiredKids, via: 'cli' } });
  context.out(`New ${alg} signing key ${rotated.kid} signs from now on (every instance picks it up on its next request).`);
  if (rotated.retiredKids.length > 0) {
    context.out(`Replaced key${rotated.retiredKids.length === 1 ? '' : 's'} ${rotated.retiredKids.join(', ')} stay in the JWKS until ${rotated.retireAfter.toISOString()} (${KEY_RETIREMENT_SECONDS / 60} minutes: the longest a token they signed lives).`);
  }
}

export async function listKeysCommand(context: CliContext): Promise<void> {
  const now = context.clock.now();
  for (const key of await listSigningKeys(context.deps.db)) {
    const state = key.retire_after === null ? 'current' : key.retire_after > now ? `retiring (published until ${key.retire_after.toISOString()})` : 'retired';
    context.out(`${key.kid}  ·  ${key.alg}  ·  created ${key.created_at.toISOString()}  ·  ${state}`);
  }
}
