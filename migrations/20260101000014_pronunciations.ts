import type { Knex } from 'knex';

/**
 * Pronunciation dictionaries (API.md v1.1, src/script/pronunciations.ts):
 * - pronunciations: each user's entries, one row per term. A table of its own rather than a JSON
 *   column on users: the users row is read by every authenticated request and every change to it
 *   notifies auth_changed (migration 011), so up to 500 entries would ride along with both. The
 *   key (user_id, term) makes a duplicate term impossible; `position` keeps the user's order.
 * - job_pronunciations: the dictionary a job speaks with, copied once when its synthesis is
 *   planned (after any review), so one podcast is spoken with one dictionary however long it runs
 *   and a text to speech is split into chunks once. No row: the user had no entries (or the job
 *   was planned before this migration), and nothing is replaced. A job id is a podcast_jobs or an
 *   audio_jobs id, hence no foreign key to either; the rows go with their user.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('pronunciations', (t) => {
    t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('term', 100).notNullable();
    t.string('say', 200).notNullable();
    t.smallint('position').notNullable();
    t.primary(['user_id', 'term']);
    t.check(`term <> '' AND say <> ''`, [], 'pronunciations_not_empty');
  });
  await knex.schema.createTable('job_pronunciations', (t) => {
    t.uuid('job_id').primary();
    t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.jsonb('items').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.raw('NOW()'));
    t.index(['user_id'], 'idx_job_pronunciations_user');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('job_pronunciations');
  await knex.schema.dropTable('pronunciations');
}
