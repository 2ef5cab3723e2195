import { sql, type Kysely } from 'kysely';

/**
 * The sign-in engine: who is an administrator is a property of the user; a factor remembers the
 * session it was bound in, so that session cannot use it to step itself up (NIST 800-63B §6.1.2.1).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table users add column is_admin boolean not null default false`.execute(db);
  await sql`alter table factors add column bound_session_id uuid`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table factors drop column bound_session_id`.execute(db);
  await sql`alter table users drop column is_admin`.execute(db);
}
