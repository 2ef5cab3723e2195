import { sql, type Kysely } from 'kysely';

/**
 * The OpenID Connect provider's storage, in Latch's own database so every instance shares it:
 * - `oidc_payloads`: what oidc-provider's adapter stores (grants, codes, tokens, interactions, its
 *   sessions), one row per model and id. `latch_session_id` ties a grant and the tokens issued
 *   under it to the Latch session that signed the user in: when that session ends, they end.
 * - `oidc_signing_keys`: the JWKS; the private key sealed with the keyring. The newest active key
 *   of an algorithm signs; retired keys stay published until `retire_after`.
 * - `oidc_clients`: registered applications; only a keyed hash of a client secret.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table oidc_payloads (
      kind text not null,
      id text not null,
      payload jsonb not null,
      grant_id text,
      user_code text,
      uid text,
      latch_session_id uuid references sessions (id) on delete set null,
      expires_at timestamptz,
      consumed_at timestamptz,
      primary key (kind, id)
    )`.execute(db);
  await sql`create index oidc_payloads_grant_idx on oidc_payloads (grant_id) where grant_id is not null`.execute(db);
  await sql`create index oidc_payloads_uid_idx on oidc_payloads (uid) where uid is not null`.execute(db);
  await sql`create index oidc_payloads_user_code_idx on oidc_payloads (user_code) where user_code is not null`.execute(db);
  await sql`create index oidc_payloads_expires_idx on oidc_payloads (expires_at)`.execute(db);
  await sql`create index oidc_payloads_session_idx on oidc_payloads (latch_session_id) where latch_session_id is not null`.execute(db);

  await sql`
    create table oidc_signing_keys (
      kid text primary key,
      alg text not null check (alg in ('ES256', 'RS256')),
      public_jwk jsonb not null,
      private_sealed text not null,
      key_id text not null,
      created_at timestamptz not null,
      retire_after timestamptz
    )`.execute(db);

  await sql`
    create table oidc_clients (
      client_id text primary key,
      name text not null check (length(name) between 1 and 100),
      metadata jsonb not null,
      secret_hash text,
      first_party boolean not null default false,
      created_at timestamptz not null
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table oidc_clients`.execute(db);
  await sql`drop table oidc_signing_keys`.execute(db);
  await sql`drop table oidc_payloads`.execute(db);
}
