import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Timestamps are written as Date and read as Date (pg and PGlite both parse timestamptz). */
type Timestamp = ColumnType<Date, Date, Date>;

export type FactorKind = 'passkey' | 'totp' | 'backup_codes' | 'password';
export type FactorStatus = 'pending' | 'active' | 'revoked';
export type AuditOutcome = 'success' | 'failure' | 'denied';

export interface UsersTable {
  id: Generated<string>;
  /** Normalised (trimmed, lower-case) and unique. */
  username: string;
  display_name: string;
  /** The WebAuthn user handle: random bytes, base64url, never the id or the username. */
  webauthn_user_id: string;
  status: 'active' | 'disabled';
  created_at: Timestamp;
  updated_at: Timestamp;
  disabled_at: Timestamp | null;
  /** Administrators manage other users; the policy engine reads this, never a constant. */
  is_admin: Generated<boolean>;
  /** At most one address; it receives nothing but its confirmation until email_verified_at is set. */
  email: Generated<string | null>;
  email_verified_at: Generated<Date | null>;
  /** An open recovery request exists: a sign-in cancels it (src/recovery/recovery.ts). */
  recovery_pending: Generated<boolean>;
}

export type RecoveryStatus = 'requested' | 'waiting' | 'ready' | 'completed' | 'cancelled' | 'expired';

export interface RecoveryRequestsTable {
  id: Generated<string>;
  user_id: string;
  mode: 'admin' | 'self';
  status: RecoveryStatus;
  reason: string;
  opened_by: string | null;
  approved_by: string | null;
  created_at: Timestamp;
  approved_at: Timestamp | null;
  wait_ends_at: Timestamp | null;
  enrollment_link_id: string | null;
  link_delivery: 'email' | 'admin' | null;
  link_issued_at: Timestamp | null;
  completed_at: Timestamp | null;
  cancelled_at: Timestamp | null;
  cancelled_by: string | null;
  cancel_reason: string | null;
}

export type RolloutMode = 'optional' | 'encouraged' | 'required';

export interface GroupsTable {
  id: Generated<string>;
  /** Normalised like usernames (trimmed, lower-case) and unique. */
  name: string;
  /** The one default group: every user is in it without a membership row. */
  is_default: Generated<boolean>;
  rollout_mode: Generated<RolloutMode>;
  /** When `required` starts to bite; required has one. */
  passkey_deadline: Timestamp | null;
  /** After a skipped invitation, how long before the user is invited again. */
  invite_again_after_days: Generated<number>;
  /** Retire a user's TOTP once they signed in with a passkey this many times; null: never. */
  retire_totp_after_passkey_sign_ins: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface GroupMembersTable {
  group_id: string;
  user_id: string;
  added_at: Timestamp;
}

export interface PasskeyExemptionsTable {
  user_id: string;
  reason: string;
  expires_at: Timestamp | null;
  granted_by: string | null;
  created_at: Timestamp;
}

export type EnrollmentLinkPurpose = 'admin' | 'import' | 'recovery';

export interface EnrollmentLinksTable {
  id: Generated<string>;
  /** keyed hash of the link's token: the token itself is shown once and never stored. */
  token_hash: string;
  user_id: string;
  purpose: EnrollmentLinkPurpose;
  created_by: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

export interface FactorsTable {
  id: Generated<string>;
  user_id: string;
  kind: FactorKind;
  label: string | null;
  status: FactorStatus;
  created_at: Timestamp;
  activated_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  /** The user who revoked it (the owner or an admin); null when the system did. */
  revoked_by: string | null;
  revoked_reason: string | null;
  /** The session the factor was bound in: that session cannot step itself up with it. */
  bound_session_id: string | null;

  // passkey
  credential_id: string | null;
  public_key: Uint8Array | null;
  sign_count: number | null;
  transports: string[] | null;
  aaguid: string | null;
  device_type: 'singleDevice' | 'multiDevice' | null;
  backup_eligible: boolean | null;
  backed_up: boolean | null;
  user_verified: boolean | null;
  /** Set when the sign counter went backwards (a possible cloned authenticator). */
  flagged_at: Timestamp | null;
  flagged_reason: string | null;

  // totp
  secret_sealed: string | null;
  key_id: string | null;
  algorithm: 'SHA1' | 'SHA256' | 'SHA512' | null;
  digits: number | null;
  period_seconds: number | null;
  /** The last accepted time step: a code for this step or an earlier one is refused. */
  last_used_step: number | null;

  // password
  password_hash: string | null;
}

export interface BackupCodesTable {
  id: Generated<string>;
  factor_id: string;
  code_hash: string;
  used_at: Timestamp | null;
}

export type CeremonyKind =
  | 'passkey_signup'
  | 'passkey_signin'
  | 'passkey_register'
  | 'passkey_step_up'
  | 'totp_signup'
  | 'totp_setup'
  | 'signin_ticket'
  | 'email_confirm'
  | 'link_fallback';

export interface CeremoniesTable {
  /** keyed hash of the ceremony id the client holds: the id is a bearer secret (a sign-in ticket is one). */
  id_hash: string;
  kind: CeremonyKind;
  user_id: string | null;
  session_id: string | null;
  challenge: string | null;
  /** Kind-specific state; never plaintext secrets (a pending TOTP secret is sealed). */
  data: ColumnType<Record<string, unknown>, string, string>;
  attempts: Generated<number>;
  max_attempts: number;
  created_at: Timestamp;
  expires_at: Timestamp;
  consumed_at: Timestamp | null;
}

export interface SessionsTable {
  id: Generated<string>;
  token_hash: string;
  user_id: string;
  aal: number;
  amr: string[];
  factor_ids: string[];
  phishing_resistant: boolean;
  /** Made with a backup code: the user is recovering. */
  recovery: boolean;
  remembered_device_id: string | null;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  idle_expires_at: Timestamp;
  absolute_expires_at: Timestamp;
  /** The last time a factor was proven in this session (sign-in or step-up). */
  last_verified_at: Timestamp;
  stepped_up_at: Timestamp | null;
  /**
   * The last time a passkey with user verification was proven in this session (sign-in or
   * step-up): admin actions are fresh only from this, never from a TOTP step-up.
   */
  passkey_verified_at: Generated<Date | null>;
  client_address: string | null;
  user_agent: string | null;
  revoked_at: Timestamp | null;
  revoked_reason: string | null;
  /**
   * Set when the passkey rollout restricted this session (`passkey_required`): it may only enroll
   * a passkey, read itself and sign out (src/policy/rollout.ts `restrictedSessionMayUse`).
   */
  restricted_reason: Generated<string | null>;
  /** The sign-in showed an invitation to add a passkey (cleared when skipped or when one is added). */
  passkey_invited_at: Generated<Date | null>;
  /** The deadline of the invitation, or since when a passkey is required (restricted). */
  rollout_deadline: Generated<Date | null>;
}

/** Per user: the passkey invitation's last skip, and passkey sign-ins counted for TOTP retirement. */
export interface UserRolloutTable {
  user_id: string;
  invite_skipped_at: Timestamp | null;
  passkey_sign_ins: Generated<number>;
}

export interface AuditEventsTable {
  id: Generated<string>;
  occurred_at: Timestamp;
  actor_user_id: string | null;
  subject_user_id: string | null;
  action: string;
  outcome: AuditOutcome;
  factor_id: string | null;
  session_id: string | null;
  client_address: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: ColumnType<Record<string, unknown>, string, never>;
  /** The writing transaction's id (xid8, as text): which checkpoint covers the row. Set by the database. */
  txid: ColumnType<string, never, never>;
}

export interface AuditCheckpointsTable {
  seq: ColumnType<number, number, never>;
  created_at: Timestamp;
  /** Covers the audit rows with (txid_from, from_row_id) < (txid, id) <= (txid_to, to_row_id) (xid8 as text; see src/audit/checkpoints.ts). */
  txid_from: string;
  from_row_id: ColumnType<string, string | number, never>;
  txid_to: string;
  to_row_id: ColumnType<string, string | number, never>;
  row_count: number;
  first_row_id: number | null;
  last_row_id: number | null;
  /** One `id:sha256` line per covered row (in (txid, id) order; id order in unbounded ones): names the row that no longer matches. */
  row_digests: string;
  rows_hash: string;
  prev_hash: string;
  hash: string;
  key_id: string;
  signature: string;
}

export interface RateLimitsTable {
  key: string;
  count: number;
  window_started_at: Timestamp;
  locked_until: Timestamp | null;
}

export interface NotificationsTable {
  id: Generated<string>;
  user_id: string;
  kind: string;
  payload: ColumnType<Record<string, unknown>, string, never>;
  created_at: Timestamp;
  sent_at: Timestamp | null;
  attempts: Generated<number>;
  /** Where the change came from, shown in the message (never a secret). */
  client_address: Generated<string | null>;
  user_agent: Generated<string | null>;
  /** Another address than the user's confirmed one: the old address, told that it was replaced. */
  recipient: Generated<string | null>;
  /** Due from then: set when queued, pushed on by a worker's lease and by the backoff after a failure. */
  next_attempt_at: Generated<Date | null>;
  /** Why the last attempt failed (an SMTP status, never a secret). */
  last_error: Generated<string | null>;
  /** Given up after too many attempts. */
  failed_at: Generated<Date | null>;
  /** Not sent by design: the user has no confirmed address. */
  skipped_at: Generated<Date | null>;
  skipped_reason: Generated<string | null>;
}

export interface RememberedDevicesTable {
  id: Generated<string>;
  user_id: string;
  token_hash: string;
  user_agent: string | null;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
}

/**
 * Sign-ins per UTC day and method (the dashboard's rollup of the audit log's successful
 * session.create rows), a few shard rows each: src/audit/sign-ins-per-day.ts.
 */
export interface SignInsPerDayTable {
  /** YYYY-MM-DD (a date column, read back with to_char). */
  day: ColumnType<string, string, never>;
  method: string;
  shard: number;
  sign_ins: ColumnType<string, number, number>;
}

export interface Database {
  users: UsersTable;
  factors: FactorsTable;
  backup_codes: BackupCodesTable;
  ceremonies: CeremoniesTable;
  sessions: SessionsTable;
  audit_events: AuditEventsTable;
  audit_checkpoints: AuditCheckpointsTable;
  recovery_requests: RecoveryRequestsTable;
  rate_limits: RateLimitsTable;
  notifications: NotificationsTable;
  remembered_devices: RememberedDevicesTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  passkey_exemptions: PasskeyExemptionsTable;
  enrollment_links: EnrollmentLinksTable;
  user_rollout: UserRolloutTable;
  sign_ins_per_day: SignInsPerDayTable;
  oidc_payloads: OidcPayloadsTable;
  oidc_signing_keys: OidcSigningKeysTable;
  oidc_clients: OidcClientsTable;
}

/** oidc-provider's adapter storage (src/oidc/adapter.ts). */
export interface OidcPayloadsTable {
  kind: string;
  id: string;
  payload: Record<string, unknown>;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  latch_session_id: string | null;
  expires_at: Timestamp | null;
  consumed_at: Timestamp | null;
}

export interface OidcSigningKeysTable {
  kid: string;
  alg: 'ES256' | 'RS256';
  public_jwk: Record<string, unknown>;
  private_sealed: string;
  /** The keyring key that sealed the private key. */
  key_id: string;
  created_at: Timestamp;
  retire_after: Timestamp | null;
}

export interface OidcClientsTable {
  client_id: string;
  name: string;
  /** oidc-provider client metadata (redirect_uris, grant_types, …); client_secret is the keyed hash. */
  metadata: Record<string, unknown>;
  secret_hash: string | null;
  first_party: boolean;
  created_at: Timestamp;
}

export type User = Selectable<UsersTable>;
export type Factor = Selectable<FactorsTable>;
export type NewFactor = Insertable<FactorsTable>;
export type FactorUpdate = Updateable<FactorsTable>;
export type Ceremony = Selectable<CeremoniesTable>;
export type Session = Selectable<SessionsTable>;
export type AuditEvent = Selectable<AuditEventsTable>;
export type RememberedDevice = Selectable<RememberedDevicesTable>;
export type Group = Selectable<GroupsTable>;
export type EnrollmentLink = Selectable<EnrollmentLinksTable>;
export type RecoveryRequest = Selectable<RecoveryRequestsTable>;
export type Notification = Selectable<NotificationsTable>;
