import type { Knex } from 'knex';

/**
 * Additions beyond the seed, with their reasons:
 * - sessions: login tokens must be revocable at logout (API.md), so they are opaque random tokens
 *   stored server-side as SHA-256 hashes rather than self-contained signed tokens.
 * - rate_limits: counters for rate-limiter-flexible (failed logins now, API keys later) shared by
 *   every API process; created here, in its library's layout, so no process creates tables at run time.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sessions', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('token_hash', 64).notNullable().unique();
    t.string('user_agent', 255);
    t.string('ip', 64);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['user_id'], 'idx_sessions_user_id');
  });

  await knex.schema.createTable('rate_limits', (t) => {
    t.string('key', 255).primary();
    t.integer('points').notNullable().defaultTo(0);
    t.bigInteger('expire');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('rate_limits');
  await knex.schema.dropTable('sessions');
}
