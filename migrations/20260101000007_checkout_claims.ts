import type { Knex } from 'knex';

/**
 * Beyond the seed: at most one Checkout being prepared per user. Starting a checkout takes a short
 * lease here with one conditional statement, calls Stripe with no transaction open, and drops the
 * lease after; a process that dies meanwhile leaves a lease that simply runs out.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('checkout_claims', (t) => {
    t.uuid('user_id').primary().references('id').inTable('users').onDelete('CASCADE');
    t.uuid('token').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('checkout_claims');
}
