import { sql, type Kysely } from 'kysely';

/**
 * Organizations: groups with their passkey rollout policy (one default row everyone is in without
 * a membership row), per-user exemptions from the passkey requirement, single-use enrollment links
 * (only the keyed hash of the token stored), and a user's email address (confirmed or not).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table users add column email text`.execute(db);
  await sql`alter table users add column email_verified_at timestamptz`.execute(db);
  await sql`alter table users add constraint users_email_length check (email is null or length(email) between 3 and 254)`.execute(db);
  await sql`create index users_email_idx on users (lower(email)) where email is not null`.execute(db);

  await sql`
    create table groups (
      id uuid primary key default gen_random_uuid(),
      name text not null,
      is_default boolean not null default false,
      rollout_mode text not null default 'optional' check (rollout_mode in ('optional', 'encouraged', 'required')),
      passkey_deadline timestamptz,
      invite_again_after_days integer not null default 7 check (invite_again_after_days between 1 and 365),
      retire_totp_after_passkey_sign_ins integer check (retire_totp_after_passkey_sign_ins is null or retire_totp_after_passkey_sign_ins between 1 and 1000),
      created_at timestamptz not null,
      updated_at timestamptz not null,
      constraint groups_name_normalised check (name = lower(btrim(name)) and length(name) between 1 and 64),
      constraint groups_required_has_deadline check (rollout_mode <> 'required' or passkey_deadline is not null)
    )`.execute(db);
  await sql`create unique index groups_name_key on groups (name)`.execute(db);
  await sql`create unique index groups_one_default on groups (is_default) where is_default`.execute(db);
  await sql`insert into groups (name, is_default, created_at, updated_at) values ('default', true, now(), now())`.execute(db);

  await sql`
    create table group_members (
      group_id uuid not null references groups (id) on delete cascade,
      user_id uuid not null references users (id) on delete cascade,
      added_at timestamptz not null,
      primary key (group_id, user_id)
    )`.execute(db);
  await sql`create index group_members_user_idx on group_members (user_id)`.execute(db);

  await sql`
    create table passkey_exemptions (
      user_id uuid primary key references users (id) on delete cascade,
      reason text not null check (length(reason) between 1 and 500),
      expires_at timestamptz,
      granted_by uuid references users (id) on delete set null,
      created_at timestamptz not null
    )`.execute(db);

  await sql`
    create table enrollment_links (
      id uuid primary key default gen_random_uuid(),
      token_hash text not null,
      user_id uuid not null references users (id) on delete cascade,
      purpose text not null check (purpose in ('admin', 'import', 'recovery')),
      created_by uuid references users (id) on delete set null,
      created_at timestamptz not null,
      expires_at timestamptz not null,
      used_at timestamptz
    )`.execute(db);
  await sql`create unique index enrollment_links_token_hash_key on enrollment_links (token_hash)`.execute(db);
  await sql`create index enrollment_links_user_idx on enrollment_links (user_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table enrollment_links`.execute(db);
  await sql`drop table passkey_exemptions`.execute(db);
  await sql`drop table group_members`.execute(db);
  await sql`drop table groups`.execute(db);
  await sql`drop index users_email_idx`.execute(db);
  await sql`alter table users drop constraint users_email_length`.execute(db);
  await sql`alter table users drop column email_verified_at`.execute(db);
  await sql`alter table users drop column email`.execute(db);
}
