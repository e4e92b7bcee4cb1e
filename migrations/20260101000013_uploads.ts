import type { Knex } from 'knex';

/**
 * uploads: documents (PDF, DOCX, Markdown, plain text) uploaded as podcast sources
 * (`POST /v1/uploads`, then `sourceType: "file"` with the upload's id). The original bytes live in
 * storage under `storage_key` (`uploads/<user id>/<id>`); the row says whose they are (another
 * user's upload is 404), what they were called, and what their text measured when they were read
 * at upload time (`characters`). An upload nobody used expires after 24 h (`expires_at`), and
 * housekeeping removes its row and file; `used_at` is set by the first podcast made from it, which
 * keeps it for as long as that podcast may be retried (the analyzing stage reads the file again).
 * The partial index serves that housekeeping query.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('uploads', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('filename', 255).notNullable();
    t.string('content_type', 100).notNullable();
    t.integer('bytes').notNullable();
    t.integer('characters').notNullable();
    t.string('storage_key', 1024).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.raw('NOW()'));
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
  });
  await knex.raw('CREATE INDEX idx_uploads_unused_expiry ON uploads (expires_at) WHERE used_at IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('uploads');
}
