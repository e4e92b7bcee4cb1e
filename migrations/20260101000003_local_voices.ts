import type { Knex } from 'knex';

/**
 * Beyond the seed: voices of the `local` provider (espeak-ng), so the product speaks Mandarin and
 * English with no provider key at all — the embedded default.
 */
const LOCAL_VOICES = [
  { id: 'local-zh-female', name: 'Local Mandarin (female)', name_zh: '本地女声', gender: 'female', language: 'zh-CN' },
  { id: 'local-zh-male', name: 'Local Mandarin (male)', name_zh: '本地男声', gender: 'male', language: 'zh-CN' },
  { id: 'local-en-female', name: 'Local English (female)', name_zh: '本地英文女声', gender: 'female', language: 'en-US' },
  { id: 'local-en-male', name: 'Local English (male)', name_zh: '本地英文男声', gender: 'male', language: 'en-US' },
].map((v) => ({
  ...v,
  provider: 'local',
  style: 'casual',
  description: 'Rendered on this server by espeak-ng; needs no provider key.',
  is_premium: false,
  sort_order: 100,
}));

export async function up(knex: Knex): Promise<void> {
  await knex('voices').insert(LOCAL_VOICES).onConflict('id').ignore();
}

export async function down(knex: Knex): Promise<void> {
  await knex('voices')
    .whereIn(
      'id',
      LOCAL_VOICES.map((v) => v.id),
    )
    .delete();
}
