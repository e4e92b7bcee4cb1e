import type { Knex } from 'knex';

/**
 * Four facts the seed has no place for:
 * - podcast_jobs.length_note: why a podcast will come out shorter than its target (the source ran
 *   out of material), shown in the job view as `lengthNote`.
 * - podcast_segments.paid: this spoken line is in a file a completed generation was charged for,
 *   so a generation after an edit that reuses it charges only what it spoke anew (API: "charges
 *   only their seconds"). Lines of podcasts completed before this migration were paid for.
 * - podcast_jobs.timeline: where each line of the stitched file starts and ends, and which spoken
 *   line it is: what the charge for a generation after an edit is computed from, and what a
 *   timed transcript is made of.
 * - podcast_jobs.lines_total: the lines the job will speak, from its plan: with the lines done and
 *   the time taken, what the job view's `etaSeconds` is estimated from.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE podcast_jobs ADD COLUMN length_note TEXT, ADD COLUMN timeline JSONB, ADD COLUMN lines_total INTEGER`);
  await knex.raw(`ALTER TABLE podcast_segments ADD COLUMN paid BOOLEAN NOT NULL DEFAULT FALSE`);
  await knex.raw(`UPDATE podcast_segments s SET paid = TRUE FROM podcast_jobs j WHERE j.id = s.job_id AND j.status = 'completed'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE podcast_segments DROP COLUMN paid`);
  await knex.raw(`ALTER TABLE podcast_jobs DROP COLUMN length_note, DROP COLUMN timeline, DROP COLUMN lines_total`);
}
