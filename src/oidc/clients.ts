import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import type { AdminActor } from '../admin/actor.ts';
import { byAdmin } from '../admin/actor.ts';
import { recordAudit, type RequestContext } from '../audit/audit.ts';
import { constantTimeEqual, keyedHash, randomToken, type Keyring } from '../crypto/keyring.ts';
import type { Database } from '../db/schema.ts';
import { LatchError } from '../errors.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Registered applications. A confidential client's secret is shown once and only its keyed hash
 * (HMAC under the server key: the secret is 256 random bits, so no slow hash is needed) is
 * stored. oidc-provider compares secrets through `Client#compareClientSecret`, which
 * src/oidc/provider.ts replaces with `clientSecretMatches`; the hash sits where the provider
 * expects `client_secret`, so the symmetric uses of a secret (HS256 ID tokens,
 * client_secret_jwt) are switched off: they would need the secret itself.
 */

const SECRET_PURPOSE = 'oidc-client-secret';
export type OidcGrantType = 'authorization_code' | 'refresh_token' | 'client_credentials';
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

const absoluteUrl = z
  .string()
  .max(2000)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.hash === '' && url.username === '' && url.password === '';
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL without a fragment or credentials');

export const clientInputSchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    redirectUris: z.array(absoluteUrl).max(20).default([]),
    postLogoutRedirectUris: z.array(absoluteUrl).max(20).default([]),
    public: z.boolean().default(false),
    firstParty: z.boolean().default(false),
    grantTypes: z.array(z.enum(['authorization_code', 'refresh_token', 'client_credentials'])).min(1).default(['authorization_code', 'refresh_token']),
    scope: z
      .string()
      .trim()
      .refine((value) => value.split(/\s+/).every((scope) => (OIDC_SCOPES as readonly string[]).includes(scope)), `scopes are among: ${OIDC_SCOPES.join(' ')}`)
      .default('openid profile email offline_access'),
    backchannelLogoutUri: absoluteUrl.optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    const grants = new Set(input.grantTypes);
    if (grants.has('authorization_code') && input.redirectUris.length === 0) ctx.addIssue({ code: 'custom', path: ['redirectUris'], message: 'the authorization code grant needs at least one redirect URI' });
    if (input.public && grants.has('client_credentials')) ctx.addIssue({ code: 'custom', path: ['grantTypes'], message: 'a public client has no secret, so it cannot use client credentials' });
    if (grants.has('refresh_token') && !grants.has('authorization_code')) ctx.addIssue({ code: 'custom', path: ['grantTypes'], message: 'refresh tokens come from the authorization code grant' });
  });
export type ClientInput = z.input<typeof clientInputSchema>;

export interface ClientSummary {
  clientId: string;
  name: string;
  public: boolean;
  firstParty: boolean;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grantTypes: string[];
  scope: string;
  backchannelLogoutUri: string | null;
  createdAt: string;
}

export function hashClientSecret(keyring: Keyring, secret: string): string {
  return keyedHash(keyring, SECRET_PURPOSE, secret);
}

export function clientSecretMatches(keyring: Keyring, storedHash: string | undefined, presented: string | undefined): boolean {
  if (!storedHash || typeof presented !== 'string') return false;
  return constantTimeEqual(storedHash, hashClientSecret(keyring, presented));
}

/** Registers a client; returns its secret once (null for a public client). The audit row commits with it. */
export async function createClient(
  trx: Transaction<Database>,
  keyring: Keyring,
  context: RequestContext,
  actor: AdminActor,
  rawInput: ClientInput,
): Promise<{ client: ClientSummary; clientSecret: string | null }> {
  const parsed = clientInputSchema.safeParse(rawInput);
  if (!parsed.success) throw new LatchError('validation_failed', parsed.error.issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`).join('; '));
  const input = parsed.data;
  const clientId = `latch-${randomToken(12)}`;
  const clientSecret = input.public ? null : randomToken(32);
  const secretHash = clientSecret ? hashClientSecret(keyring, clientSecret) : null;
  const grantTypes = [...new Set(input.grantTypes)];
  const metadata: Record<string, unknown> = {
    client_id: clientId,
    client_name: input.name,
    redirect_uris: input.redirectUris,
    post_logout_redirect_uris: input.postLogoutRedirectUris,
    grant_types: grantTypes,
    response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
    token_endpoint_auth_method: input.public ? 'none' : 'client_secret_basic',
    scope: input.scope,
    ...(input.backchannelLogoutUri ? { backchannel_logout_uri: input.backchannelLogoutUri, backchannel_logout_session_required: false } : {}),
  };
  await trx
    .insertInto('oidc_clients')
    .values({ client_id: clientId, name: input.name, metadata: JSON.stringify(metadata) as never, secret_hash: secretHash, first_party: input.firstParty, created_at: context.now })
    .execute();
  await recordAudit(trx, context, { action: 'oidc_client.create', outcome: 'success', ...byAdmin(actor, null, { clientId, name: input.name, public: input.public, firstParty: input.firstParty, grantTypes }) });
  const row = await trx.selectFrom('oidc_clients').selectAll().where('client_id', '=', clientId).executeTakeFirstOrThrow();
  return { client: presentClient(row), clientSecret };
}

export async function listClients(db: Executor): Promise<ClientSummary[]> {
  const rows = await db.selectFrom('oidc_clients').selectAll().orderBy('created_at', 'asc').execute();
  return rows.map(presentClient);
}

/** Deletes a client and everything issued to it (its grants and tokens end now). */
export async function deleteClient(trx: Transaction<Database>, context: RequestContext, actor: AdminActor, clientId: string): Promise<void> {
  const deleted = await trx.deleteFrom('oidc_clients').where('client_id', '=', clientId).returning('name').executeTakeFirst();
  if (!deleted) throw new LatchError('oidc_client_not_found');
  await trx.deleteFrom('oidc_payloads').where((eb) => eb(eb.ref('payload', '->>').key('clientId' as never), '=', clientId)).execute();
  await recordAudit(trx, context, { action: 'oidc_client.delete', outcome: 'success', ...byAdmin(actor, null, { clientId, name: deleted.name }) });
}

/** The provider's view of a client (its adapter's `Client` model); `client_secret` is the hash. */
export async function clientMetadata(db: Executor, clientId: string): Promise<Record<string, unknown> | undefined> {
  const row = await db.selectFrom('oidc_clients').select(['metadata', 'secret_hash']).where('client_id', '=', clientId).executeTakeFirst();
  if (!row) return undefined;
  const metadata = (typeof row.metadata === 'string' ? JSON.parse(row.metadata) : row.metadata) as Record<string, unknown>;
  return row.secret_hash ? { ...metadata, client_secret: row.secret_hash } : metadata;
}

export async function isFirstPartyClient(db: Executor, clientId: string): Promise<boolean> {
  const row = await db.selectFrom('oidc_clients').select('first_party').where('client_id', '=', clientId).executeTakeFirst();
  return row?.first_party ?? false;
}

function presentClient(row: { client_id: string; name: string; metadata: unknown; secret_hash: string | null; first_party: boolean; created_at: Date }): ClientSummary {
  const metadata = (typeof row.metadata === 'string' ? JSON.parse(row.metadata) : row.metadata) as Record<string, any>;
  return {
    clientId: row.client_id,
    name: row.name,
    public: row.secret_hash === null,
    firstParty: row.first_party,
    redirectUris: metadata.redirect_uris ?? [],
    postLogoutRedirectUris: metadata.post_logout_redirect_uris ?? [],
    grantTypes: metadata.grant_types ?? [],
    scope: metadata.scope ?? '',
    backchannelLogoutUri: metadata.backchannel_logout_uri ?? null,
    createdAt: row.created_at.toISOString(),
  };
}
