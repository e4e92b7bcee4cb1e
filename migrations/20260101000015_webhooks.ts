import type { Knex } from 'knex';

/**
 * Signed webhooks to API clients (API.md v1.1, src/webhooks, README "Webhooks"):
 * - webhook_endpoints: where a user wants events POSTed, which event types, and the signing
 *   secret. The secret is kept as it was issued, not hashed like API keys: every delivery signs
 *   with it, so it must be readable. It is not encrypted either: a key to decrypt it would sit with
 *   the same processes that read this table, so encryption would protect only a copy of the
 *   database on its own (a backup), and that copy already holds everything an event carries; what
 *   a stolen secret allows is forging events to its client, which is the client's to rotate by
 *   replacing the endpoint. It is never listed or logged. At most 10 endpoints per user
 *   (src/services/webhooks.ts), so no per-user index beyond (user_id, created_at) is needed.
 * - webhook_events: each event's body, rendered once when its job ended and stored as the exact
 *   text every attempt to every endpoint signs and sends. Kept here rather than in the delivery
 *   workflows' inputs: a podcast's body carries its source text and script (up to a megabyte),
 *   which Temporal would copy into every endpoint's history, and an id is its own dedup: a
 *   completion retried after a crash renders the event again, and ON CONFLICT keeps the first.
 *   Removed by housekeeping 30 days on (deliveries end after about 25 hours), with their attempts.
 * - webhook_deliveries: one row per attempt (Temporal's attempt number, the HTTP status or null,
 *   what went wrong), for `GET /v1/webhooks/{id}/deliveries`, recent first; a 2xx row also tells
 *   a retried attempt that the event already arrived (src/webhooks/delivery.ts). They go with
 *   their endpoint.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_endpoints', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('url', 2048).notNullable();
    t.specificType('events', 'text[]').notNullable();
    t.string('secret', 100).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.raw('NOW()'));
    t.index(['user_id', 'created_at'], 'idx_webhook_endpoints_user');
    t.check(`cardinality(events) > 0`, [], 'webhook_endpoints_events_not_empty');
  });
  await knex.schema.createTable('webhook_events', (t) => {
    t.string('id', 64).primary();
    t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('type', 40).notNullable();
    t.text('body').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.raw('NOW()'));
    t.index(['created_at'], 'idx_webhook_events_created');
  });
  await knex.schema.createTable('webhook_deliveries', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('endpoint_id').notNullable().references('id').inTable('webhook_endpoints').onDelete('CASCADE');
    t.string('event_id', 64).notNullable().references('id').inTable('webhook_events').onDelete('CASCADE');
    t.integer('attempt').notNullable();
    t.smallint('status');
    t.text('error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.raw('NOW()'));
    t.index(['event_id', 'endpoint_id'], 'idx_webhook_deliveries_event');
  });
  await knex.raw('CREATE INDEX idx_webhook_deliveries_recent ON webhook_deliveries (endpoint_id, created_at DESC, id DESC)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('webhook_deliveries');
  await knex.schema.dropTable('webhook_events');
  await knex.schema.dropTable('webhook_endpoints');
}
