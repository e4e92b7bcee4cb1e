import type { Knex } from 'knex';

/**
 * podcast_feeds: each user's private podcast feed (`POST /v1/feed`, API.md v1.1). Podcast apps
 * cannot send an auth header, so the feed and every link in it carry a secret token in the path
 * (src/services/feeds.ts). Only the token's SHA-256 is stored, as for sessions and API keys: a
 * leaked dump or backup opens no one's feed. One row per user (`user_id` is the key): rotating the
 * token overwrites the hash, so the old URL and all its item links answer 404 from that commit
 * on. `token_hash` is unique, the index every feed request looks its owner up by. `created_at`
 * says when the current token was made. The row goes with its user.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('podcast_feeds', (t) => {
    t.uuid('user_id').primary().references('id').inTable('users').onDelete('CASCADE');
    t.string('token_hash', 64).notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.raw('NOW()'));
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('podcast_feeds');
}
