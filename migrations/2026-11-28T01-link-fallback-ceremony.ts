import { sql, type Kysely } from 'kysely';

/**
 * The ceremony that holds a new password and authenticator app on an enrollment link, pending the
 * app's first code, serves import links as well as recovery links: `recovery_fallback` becomes
 * `link_fallback`. Ceremonies in flight keep working (their rows are renamed with the check).
 */
const KINDS = `'passkey_signup', 'passkey_signin', 'passkey_register', 'passkey_step_up', 'totp_signup', 'totp_setup', 'signin_ticket', 'email_confirm'`;

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table ceremonies drop constraint ceremonies_kind_check`.execute(db);
  await sql`update ceremonies set kind = 'link_fallback' where kind = 'recovery_fallback'`.execute(db);
  await sql.raw(`alter table ceremonies add constraint ceremonies_kind_check check (kind in (${KINDS}, 'link_fallback'))`).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table ceremonies drop constraint ceremonies_kind_check`.execute(db);
  await sql`update ceremonies set kind = 'recovery_fallback' where kind = 'link_fallback'`.execute(db);
  await sql.raw(`alter table ceremonies add constraint ceremonies_kind_check check (kind in (${KINDS}, 'recovery_fallback'))`).execute(db);
}
