import type { Knex } from 'knex';

/**
 * Every change to a session or a user NOTIFYs `auth_changed` (payload `session:<id>` or
 * `user:<id>`), so an API process may keep the sessions it has looked up (SESSION_CACHE_MS) and
 * forget one the moment it is revoked, expires by housekeeping, or its user is deactivated or
 * changes plan, whichever process or worker made the change. A poll then costs one query instead
 * of two. Triggers, like migration 008's, so that no writer can forget to notify.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION notify_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('auth_changed', (CASE TG_TABLE_NAME WHEN 'sessions' THEN 'session:' ELSE 'user:' END) || OLD.id::text);
      RETURN NULL;
    END
    $$`);
  await knex.raw(`CREATE TRIGGER sessions_auth_changed AFTER UPDATE OR DELETE ON sessions FOR EACH ROW EXECUTE FUNCTION notify_auth_changed()`);
  await knex.raw(`CREATE TRIGGER users_auth_changed AFTER UPDATE OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION notify_auth_changed()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER users_auth_changed ON users');
  await knex.raw('DROP TRIGGER sessions_auth_changed ON sessions');
  await knex.raw('DROP FUNCTION notify_auth_changed()');
}
