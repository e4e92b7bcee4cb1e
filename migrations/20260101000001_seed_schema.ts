import type { Knex } from 'knex';

/**
 * The product's schema exactly as the seed design (section 2) defines it: eight tables, their
 * indexes, the monthly_usage view and the eight catalogue voices. Anything beyond the seed lives
 * in later migrations, each saying why.
 */
export async function up(knex: Knex): Promise<void> {
  // Section 4 of the seed creates uuid-ossp; gen_random_uuid() is built in since PostgreSQL 13,
  // so the extension is only created where the server ships it.
  const uuidOssp = await knex.raw(`SELECT 1 FROM pg_available_extensions WHERE name = 'uuid-ossp'`);
  if (uuidOssp.rows.length > 0) await knex.raw('CREATE EXTENSION IF NOT EXISTS "uuid-ossp"');

  const uuidPk = (t: Knex.CreateTableBuilder) => t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
  const tz = { useTz: true };
  // Defaults are written as the seed writes them (NOW(), 1.0, ARRAY['tts']) so that the catalog
  // reports the very same expressions.
  const now = () => knex.raw('NOW()');

  await knex.schema.createTable('users', (t) => {
    uuidPk(t);
    t.string('email', 255).notNullable().unique();
    t.string('password_hash', 255);
    t.string('name', 100);
    t.string('avatar_url', 500);
    t.string('plan', 20).defaultTo('free');
    t.integer('quota_limit').defaultTo(600);
    t.integer('quota_used').defaultTo(0);
    t.timestamp('quota_reset_at', tz);
    t.string('google_id', 100);
    t.string('github_id', 100);
    t.boolean('is_active').defaultTo(true);
    t.boolean('is_verified').defaultTo(false);
    t.timestamp('created_at', tz).defaultTo(now());
    t.timestamp('updated_at', tz).defaultTo(now());
    t.timestamp('last_login_at', tz);
    t.index(['email'], 'idx_users_email');
    t.index(['google_id'], 'idx_users_google_id', { predicate: knex.whereNotNull('google_id') });
    t.index(['github_id'], 'idx_users_github_id', { predicate: knex.whereNotNull('github_id') });
  });

  await knex.schema.createTable('voices', (t) => {
    t.string('id', 50).primary();
    t.string('name', 100).notNullable();
    t.string('name_zh', 100);
    t.string('provider', 20).notNullable();
    t.string('gender', 10);
    t.string('language', 20).defaultTo('zh-CN');
    t.string('style', 50);
    t.text('description');
    t.string('preview_url', 500);
    t.string('avatar_url', 500);
    t.boolean('is_premium').defaultTo(false);
    t.boolean('is_active').defaultTo(true);
    t.integer('sort_order').defaultTo(0);
    t.timestamp('created_at', tz).defaultTo(now());
  });

  await knex('voices').insert([
    { id: 'openai-alloy', name: 'Alloy', name_zh: '小明', provider: 'openai', gender: 'neutral', is_premium: false },
    { id: 'openai-echo', name: 'Echo', name_zh: '小刚', provider: 'openai', gender: 'male', is_premium: false },
    { id: 'openai-fable', name: 'Fable', name_zh: '小红', provider: 'openai', gender: 'female', is_premium: false },
    { id: 'openai-onyx', name: 'Onyx', name_zh: '磁性男', provider: 'openai', gender: 'male', is_premium: false },
    { id: 'openai-nova', name: 'Nova', name_zh: '温柔女', provider: 'openai', gender: 'female', is_premium: false },
    { id: 'openai-shimmer', name: 'Shimmer', name_zh: '活力女', provider: 'openai', gender: 'female', is_premium: false },
    { id: 'eleven-rachel', name: 'Rachel', name_zh: '专业女声', provider: 'elevenlabs', gender: 'female', is_premium: true },
    { id: 'eleven-adam', name: 'Adam', name_zh: '专业男声', provider: 'elevenlabs', gender: 'male', is_premium: true },
  ]);

  await knex.schema.createTable('audios', (t) => {
    uuidPk(t);
    t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('title', 200);
    t.text('text').notNullable();
    t.integer('text_length').notNullable();
    t.string('voice_id', 50).references('id').inTable('voices');
    t.string('audio_url', 500).notNullable();
    t.string('audio_format', 10).defaultTo('mp3');
    t.decimal('duration', 10, 2).notNullable();
    t.integer('file_size');
    t.decimal('speed', 3, 2).defaultTo(knex.raw('1.0'));
    t.string('emotion', 20).defaultTo('neutral');
    t.string('type', 20).defaultTo('tts');
    t.boolean('is_public').defaultTo(false);
    t.boolean('is_deleted').defaultTo(false);
    t.timestamp('created_at', tz).defaultTo(now());
    t.timestamp('updated_at', tz).defaultTo(now());
    t.index(['user_id'], 'idx_audios_user_id');
    t.index(['type'], 'idx_audios_type');
  });
  // knex's index builder has no column ordering; the library lists newest first.
  await knex.raw('CREATE INDEX idx_audios_created_at ON audios (created_at DESC)');

  await knex.schema.createTable('podcasts', (t) => {
    uuidPk(t);
    t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('title', 200);
    t.string('source_type', 20).notNullable();
    t.text('source_content').notNullable();
    t.integer('target_duration').defaultTo(600);
    t.string('style', 50).defaultTo('casual');
    t.jsonb('script');
    t.string('host_voice_id', 50).references('id').inTable('voices');
    t.string('guest_voice_id', 50).references('id').inTable('voices');
    t.string('audio_url', 500);
    t.decimal('duration', 10, 2);
    t.string('status', 20).defaultTo('draft');
    t.timestamp('created_at', tz).defaultTo(now());
    t.timestamp('updated_at', tz).defaultTo(now());
    t.index(['user_id'], 'idx_podcasts_user_id');
    t.index(['status'], 'idx_podcasts_status');
  });

  await knex.schema.createTable('podcast_jobs', (t) => {
    uuidPk(t);
    t.uuid('podcast_id').notNullable().references('id').inTable('podcasts').onDelete('CASCADE');
    t.string('status', 20).defaultTo('pending');
    t.integer('progress').defaultTo(0);
    t.string('current_step', 50);
    t.string('error_code', 50);
    t.text('error_message');
    t.timestamp('started_at', tz);
    t.timestamp('completed_at', tz);
    t.timestamp('created_at', tz).defaultTo(now());
    t.index(['podcast_id'], 'idx_podcast_jobs_podcast_id');
    t.index(['status'], 'idx_podcast_jobs_status');
  });

  await knex.schema.createTable('subscriptions', (t) => {
    uuidPk(t);
    t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('plan', 20).notNullable();
    t.string('status', 20).notNullable();
    t.string('stripe_customer_id', 100);
    t.string('stripe_subscription_id', 100);
    t.string('stripe_price_id', 100);
    t.timestamp('current_period_start', tz);
    t.timestamp('current_period_end', tz);
    t.timestamp('cancel_at', tz);
    t.timestamp('canceled_at', tz);
    t.timestamp('created_at', tz).defaultTo(now());
    t.timestamp('updated_at', tz).defaultTo(now());
    t.unique(['user_id'], { indexName: 'idx_subscriptions_user_id', useConstraint: false });
    t.index(['stripe_customer_id'], 'idx_subscriptions_stripe_customer');
  });

  await knex.schema.createTable('usage_logs', (t) => {
    uuidPk(t);
    t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('type', 20).notNullable();
    t.integer('chars_used').notNullable();
    t.decimal('duration_used', 10, 2).notNullable();
    t.uuid('audio_id').references('id').inTable('audios');
    t.uuid('podcast_id').references('id').inTable('podcasts');
    t.string('provider', 20);
    t.decimal('api_cost', 10, 6);
    t.timestamp('created_at', tz).defaultTo(now());
    t.index(['user_id'], 'idx_usage_logs_user_id');
    t.index(['created_at'], 'idx_usage_logs_created_at');
  });

  await knex.raw(`
    CREATE VIEW monthly_usage AS
    SELECT
        user_id,
        DATE_TRUNC('month', created_at) AS month,
        SUM(duration_used) AS total_duration,
        SUM(chars_used) AS total_chars,
        COUNT(*) AS total_requests,
        SUM(api_cost) AS total_cost
    FROM usage_logs
    GROUP BY user_id, DATE_TRUNC('month', created_at)`);

  await knex.schema.createTable('api_keys', (t) => {
    uuidPk(t);
    t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('name', 100);
    t.string('key_hash', 255).notNullable();
    t.string('key_prefix', 10).notNullable();
    t.specificType('scopes', 'varchar[]').defaultTo(knex.raw(`ARRAY['tts']`));
    t.integer('rate_limit').defaultTo(60);
    t.boolean('is_active').defaultTo(true);
    t.timestamp('last_used_at', tz);
    t.timestamp('expires_at', tz);
    t.timestamp('created_at', tz).defaultTo(now());
    t.index(['user_id'], 'idx_api_keys_user_id');
    t.index(['key_prefix'], 'idx_api_keys_key_prefix');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('api_keys');
  await knex.raw('DROP VIEW monthly_usage');
  for (const table of ['usage_logs', 'subscriptions', 'podcast_jobs', 'podcasts', 'audios', 'voices', 'users']) {
    await knex.schema.dropTable(table);
  }
}
