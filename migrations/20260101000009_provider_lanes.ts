import type { Knex } from 'knex';

/**
 * Provider capacity as a resource shared by every worker process (src/capacity/providerLanes.ts):
 * - provider_capacity: one row per line that wants to speak to a provider: waiting
 *   (granted_at NULL) or holding one of the provider's slots. Rows are renewed while their line
 *   lives and expire otherwise, so a killed worker's capacity comes back by itself.
 * - provider_lanes: a provider paused after a 429 until its Retry-After, for every line at once.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('provider_lanes', (t) => {
    t.string('provider', 20).primary();
    t.timestamp('paused_until', { useTz: true });
  });
  await knex.schema.createTable('provider_capacity', (t) => {
    t.uuid('id').primary();
    t.string('provider', 20).notNullable();
    t.uuid('user_id').notNullable();
    t.uuid('job_id');
    t.timestamp('job_created_at', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.raw('NOW()'));
    t.timestamp('granted_at', { useTz: true });
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['provider', 'granted_at'], 'idx_provider_capacity_provider_granted');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('provider_capacity');
  await knex.schema.dropTable('provider_lanes');
}
