import type { Knex } from 'knex';

/**
 * Two facts the seed has no place for:
 * - podcast_jobs.length_note: why a podcast will come out shorter than its target (the source ran
 *   out of material), shown in the job view as `lengthNote`.
 * - podcast_segments.paid: this spoken line is in a file a completed generation was charged for,
 *   so a generation after an edit that reuses it charges only what it spoke anew (API: "charges
 *   only their seconds"). Lines of podcasts completed before this migration were paid for.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE podcast_jobs ADD COLUMN length_note TEXT`);
  await knex.raw(`ALTER TABLE podcast_segments ADD COLUMN paid BOOLEAN NOT NULL DEFAULT FALSE`);
  await knex.raw(`UPDATE podcast_segments s SET paid = TRUE FROM podcast_jobs j WHERE j.id = s.job_id AND j.status = 'completed'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE podcast_segments DROP COLUMN paid`);
  await knex.raw(`ALTER TABLE podcast_jobs DROP COLUMN length_note`);
}
