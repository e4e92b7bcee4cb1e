import type { Knex } from 'knex';

/**
 * podcast_jobs.lines_done: how many of the job's lines are spoken, written with the progress it
 * already records (src/jobs/podcastJob.ts), so the job view can give clients `linesDone` of
 * `linesTotal` as numbers instead of a sentence for them to parse. Null until lines are spoken.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('podcast_jobs', (t) => {
    t.integer('lines_done');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('podcast_jobs', (t) => {
    t.dropColumn('lines_done');
  });
}
