import type { Knex } from 'knex';

/**
 * Additions for durable generation, each with its reason:
 * - users.quota_reserved: seconds held by jobs still running. Reserving with one conditional
 *   UPDATE (limit - used - reserved >= n) keeps concurrent jobs of one user from overspending.
 * - quota_reservations: one row per job (unique job_key), so a retried activity settles or
 *   releases a job's reservation exactly once.
 * - idempotency_keys: Idempotency-Key on POST /v1/podcasts and /v1/audios; the first response is
 *   kept 24 h and replayed for the same key and body.
 * - audio_jobs: a TTS request is accepted before its audio exists, but audios.audio_url and
 *   duration are NOT NULL; the job row carries status, progress and errors until the audios row
 *   (same id) is written at completion.
 * - podcast_segments: each synthesized line (podcast, line index, hash of text+voice+speed), so
 *   retries and restarted jobs reuse paid-for audio and progress can be counted.
 * - podcasts.language: the API takes a language per podcast; the seed has none.
 * - podcasts.tts_provider / audio_jobs.tts_provider: which engine actually spoke, since catalog
 *   voices whose provider has no key are rendered locally and users are told so.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.integer('quota_reserved').notNullable().defaultTo(0);
  });

  await knex.schema.createTable('quota_reservations', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('job_key', 100).notNullable().unique();
    t.integer('seconds').notNullable();
    t.string('status', 20).notNullable().defaultTo('reserved'); // reserved, settled, released
    t.integer('charged');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.raw('NOW()'));
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.raw('NOW()'));
    t.index(['user_id', 'status'], 'idx_quota_reservations_user_status');
  });

  await knex.schema.createTable('idempotency_keys', (t) => {
    t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('endpoint', 50).notNullable();
    t.string('key', 255).notNullable();
    t.string('request_hash', 64).notNullable();
    t.integer('response_status');
    t.jsonb('response_body');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.raw('NOW()'));
    t.primary(['user_id', 'endpoint', 'key']);
    t.index(['created_at'], 'idx_idempotency_keys_created_at');
  });

  await knex.schema.createTable('audio_jobs', (t) => {
    t.uuid('id').primary(); // becomes audios.id when the audio is done
    t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('voice_id', 50).notNullable().references('id').inTable('voices');
    t.string('title', 200);
    t.text('text').notNullable();
    t.integer('text_length').notNullable();
    t.decimal('speed', 3, 2).notNullable().defaultTo(knex.raw('1.0'));
    t.string('emotion', 20).notNullable().defaultTo('neutral');
    t.string('audio_format', 10).notNullable().defaultTo('mp3');
    t.string('status', 20).notNullable().defaultTo('pending'); // pending, synthesizing, processing, completed, failed
    t.integer('progress').notNullable().defaultTo(0);
    t.string('current_step', 50);
    t.string('error_code', 50);
    t.text('error_message');
    t.string('tts_provider', 20);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.raw('NOW()'));
    t.timestamp('started_at', { useTz: true });
    t.timestamp('completed_at', { useTz: true });
    t.index(['user_id', 'created_at'], 'idx_audio_jobs_user_created');
  });

  await knex.schema.createTable('podcast_segments', (t) => {
    t.uuid('podcast_id').notNullable().references('id').inTable('podcasts').onDelete('CASCADE');
    t.integer('line_index').notNullable();
    t.string('text_hash', 64).notNullable();
    t.string('storage_key', 300).notNullable();
    t.decimal('duration', 10, 3).notNullable();
    t.integer('chars').notNullable();
    t.string('provider', 20).notNullable();
    t.decimal('api_cost', 10, 6);
    // The job that last produced or reused this segment: counts a job's progress line by line.
    t.uuid('job_id').references('id').inTable('podcast_jobs').onDelete('SET NULL');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.raw('NOW()'));
    t.primary(['podcast_id', 'line_index', 'text_hash']);
    t.index(['job_id'], 'idx_podcast_segments_job_id');
  });

  await knex.schema.alterTable('podcasts', (t) => {
    t.string('language', 20).notNullable().defaultTo('zh-CN');
    t.string('tts_provider', 20);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('podcasts', (t) => {
    t.dropColumn('tts_provider');
    t.dropColumn('language');
  });
  await knex.schema.dropTable('podcast_segments');
  await knex.schema.dropTable('audio_jobs');
  await knex.schema.dropTable('idempotency_keys');
  await knex.schema.dropTable('quota_reservations');
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('quota_reserved');
  });
}
