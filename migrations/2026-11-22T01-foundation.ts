import { sql, type Kysely } from 'kysely';

/**
 * The foundation: users, the one factors table (common columns + per-kind columns with CHECKs),
 * backup code rows, ceremonies, sessions, the append-only audit log, rate-limit counters,
 * the notification outbox and remembered devices.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table users (
      id uuid primary key default gen_random_uuid(),
      username text not null,
      display_name text not null,
      webauthn_user_id text not null,
      status text not null default 'active' check (status in ('active', 'disabled')),
      created_at timestamptz not null,
      updated_at timestamptz not null,
      disabled_at timestamptz,
      constraint users_username_normalised check (username = lower(btrim(username)) and length(username) between 1 and 64)
    )`.execute(db);
  await sql`create unique index users_username_key on users (username)`.execute(db);
  await sql`create unique index users_webauthn_user_id_key on users (webauthn_user_id)`.execute(db);

  await sql`
    create table factors (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      kind text not null check (kind in ('passkey', 'totp', 'backup_codes', 'password')),
      label text check (label is null or length(label) between 1 and 64),
      status text not null check (status in ('pending', 'active', 'revoked')),
      created_at timestamptz not null,
      activated_at timestamptz,
      last_used_at timestamptz,
      revoked_at timestamptz,
      revoked_by uuid,
      revoked_reason text,

      credential_id text,
      public_key bytea,
      sign_count bigint,
      transports text[],
      aaguid text,
      device_type text check (device_type is null or device_type in ('singleDevice', 'multiDevice')),
      backup_eligible boolean,
      backed_up boolean,
      user_verified boolean,
      flagged_at timestamptz,
      flagged_reason text,

      secret_sealed text,
      key_id text,
      algorithm text check (algorithm is null or algorithm in ('SHA1', 'SHA256', 'SHA512')),
      digits integer check (digits is null or digits in (6, 8)),
      period_seconds integer check (period_seconds is null or period_seconds between 15 and 120),
      last_used_step bigint,

      password_hash text,

      constraint factors_revoked_consistent check ((status = 'revoked') = (revoked_at is not null)),
      constraint factors_active_consistent check (status = 'pending' or activated_at is not null),
      constraint factors_passkey_columns check (
        (kind = 'passkey') = (credential_id is not null)
        and (kind <> 'passkey' or (public_key is not null and sign_count is not null and sign_count >= 0
          and backup_eligible is not null and backed_up is not null and user_verified is not null
          and (backed_up = false or backup_eligible = true)))
      ),
      constraint factors_totp_columns check (
        (kind = 'totp') = (secret_sealed is not null)
        and (kind <> 'totp' or (key_id is not null and algorithm is not null and digits is not null and period_seconds is not null))
      ),
      constraint factors_password_columns check ((kind = 'password') = (password_hash is not null))
    )`.execute(db);
  await sql`create unique index factors_credential_id_key on factors (credential_id) where credential_id is not null`.execute(db);
  await sql`create index factors_user_id_idx on factors (user_id, kind) where status <> 'revoked'`.execute(db);
  // One live password, TOTP authenticator and backup-code set per user; passkeys are many.
  await sql`create unique index factors_one_active_password on factors (user_id) where kind = 'password' and status = 'active'`.execute(db);
  await sql`create unique index factors_one_active_totp on factors (user_id) where kind = 'totp' and status = 'active'`.execute(db);
  await sql`create unique index factors_one_active_backup_codes on factors (user_id) where kind = 'backup_codes' and status = 'active'`.execute(db);

  await sql`
    create table backup_codes (
      id uuid primary key default gen_random_uuid(),
      factor_id uuid not null references factors (id) on delete cascade,
      code_hash text not null,
      used_at timestamptz
    )`.execute(db);
  await sql`create unique index backup_codes_lookup on backup_codes (factor_id, code_hash)`.execute(db);

  await sql`
    create table ceremonies (
      id_hash text primary key,
      kind text not null check (kind in ('passkey_signup', 'passkey_signin', 'passkey_register', 'passkey_step_up',
        'totp_signup', 'totp_setup', 'signin_ticket')),
      user_id uuid references users (id) on delete cascade,
      session_id uuid,
      challenge text,
      data jsonb not null default '{}'::jsonb,
      attempts integer not null default 0,
      max_attempts integer not null default 1 check (max_attempts >= 1),
      created_at timestamptz not null,
      expires_at timestamptz not null,
      consumed_at timestamptz,
      check (expires_at > created_at)
    )`.execute(db);
  await sql`create index ceremonies_expires_at_idx on ceremonies (expires_at)`.execute(db);

  await sql`
    create table sessions (
      id uuid primary key default gen_random_uuid(),
      token_hash text not null,
      user_id uuid not null references users (id) on delete cascade,
      aal smallint not null check (aal between 1 and 3),
      amr text[] not null,
      factor_ids uuid[] not null,
      phishing_resistant boolean not null,
      recovery boolean not null default false,
      remembered_device_id uuid,
      created_at timestamptz not null,
      last_seen_at timestamptz not null,
      idle_expires_at timestamptz not null,
      absolute_expires_at timestamptz not null,
      last_verified_at timestamptz not null,
      stepped_up_at timestamptz,
      client_address text,
      user_agent text,
      revoked_at timestamptz,
      revoked_reason text
    )`.execute(db);
  await sql`create unique index sessions_token_hash_key on sessions (token_hash)`.execute(db);
  await sql`create index sessions_user_id_idx on sessions (user_id) where revoked_at is null`.execute(db);
  await sql`create index sessions_factor_ids_idx on sessions using gin (factor_ids)`.execute(db);

  await sql`
    create table audit_events (
      id bigint generated always as identity primary key,
      occurred_at timestamptz not null,
      actor_user_id uuid,
      subject_user_id uuid,
      action text not null,
      outcome text not null check (outcome in ('success', 'failure', 'denied')),
      factor_id uuid,
      session_id uuid,
      client_address text,
      user_agent text,
      request_id text,
      details jsonb not null default '{}'::jsonb
    )`.execute(db);
  await sql`create index audit_events_subject_idx on audit_events (subject_user_id, occurred_at desc, id desc)`.execute(db);
  await sql`create index audit_events_occurred_at_idx on audit_events (occurred_at)`.execute(db);
  // Append-only: the log is evidence, so no one — not even the application — may edit or erase it.
  await sql`
    create function audit_events_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_events is append-only: % refused', tg_op using errcode = 'insufficient_privilege';
    end
    $$`.execute(db);
  await sql`
    create trigger audit_events_no_update_delete before update or delete on audit_events
    for each row execute function audit_events_append_only()`.execute(db);
  await sql`
    create trigger audit_events_no_truncate before truncate on audit_events
    for each statement execute function audit_events_append_only()`.execute(db);

  await sql`
    create table rate_limits (
      key text primary key,
      count integer not null,
      window_started_at timestamptz not null,
      locked_until timestamptz
    )`.execute(db);

  await sql`
    create table notifications (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      kind text not null,
      payload jsonb not null default '{}'::jsonb,
      created_at timestamptz not null,
      sent_at timestamptz,
      attempts integer not null default 0
    )`.execute(db);
  await sql`create index notifications_unsent_idx on notifications (created_at) where sent_at is null`.execute(db);

  await sql`
    create table remembered_devices (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      token_hash text not null,
      user_agent text,
      created_at timestamptz not null,
      last_used_at timestamptz,
      expires_at timestamptz not null,
      revoked_at timestamptz
    )`.execute(db);
  await sql`create unique index remembered_devices_token_hash_key on remembered_devices (token_hash)`.execute(db);
  await sql`create index remembered_devices_user_idx on remembered_devices (user_id) where revoked_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['remembered_devices', 'notifications', 'rate_limits', 'audit_events', 'sessions', 'ceremonies', 'backup_codes', 'factors', 'users']) {
    await sql`drop table if exists ${sql.table(table)}`.execute(db);
  }
  await sql`drop function if exists audit_events_append_only()`.execute(db);
}
