import type { Knex } from 'knex';

/**
 * Beyond the seed: oauth_states, the pending OAuth sign-ins (Google, GitHub). The `state` sent to
 * the provider must be checked when the browser comes back, and the PKCE verifier kept until the
 * code is exchanged. Keeping both here rather than in a cookie or in memory lets any API process
 * answer the callback, and lets a row be consumed exactly once (DELETE … RETURNING), so a replayed
 * callback finds nothing. Only a SHA-256 of the state is stored, like session tokens. Rows are
 * valid for 10 minutes; older ones are deleted when new sign-ins start (hence the index).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('oauth_states', (t) => {
    t.string('state_hash', 64).primary();
    t.string('provider', 20).notNullable();
    t.string('code_verifier', 128);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.raw('NOW()'));
    t.index(['created_at'], 'idx_oauth_states_created_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('oauth_states');
}
