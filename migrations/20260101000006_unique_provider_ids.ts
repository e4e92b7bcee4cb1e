import type { Knex } from 'knex';

/**
 * Beyond the seed: one account per Google or GitHub identity. The seed indexes google_id and
 * github_id for lookups but does not make them unique; sign-in finds accounts by these ids, so two
 * rows with the same id would make "who is this?" ambiguous. The seed's indexes stay as they are.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE UNIQUE INDEX uq_users_google_id ON users (google_id) WHERE google_id IS NOT NULL');
  await knex.raw('CREATE UNIQUE INDEX uq_users_github_id ON users (github_id) WHERE github_id IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX uq_users_github_id');
  await knex.raw('DROP INDEX uq_users_google_id');
}
