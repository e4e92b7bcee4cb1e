import type { Knex } from 'knex';

/**
 * Beyond the seed: every write to a podcast job NOTIFYs `podcast_job_changed` with the podcast id.
 * The API's event streams (GET /v1/podcasts/{id}/events) LISTEN on that channel and read a job
 * again only when it changed, instead of polling the database twice a second per open stream.
 * A trigger rather than a NOTIFY next to each UPDATE catches every writer (API, workers,
 * housekeeping, a hand-run fix) with no code to forget. The payload is the podcast id because a
 * stream watches a podcast, whose newest job a retry replaces (an INSERT). PostgreSQL sends the
 * notification at commit (never for a rolled-back write) and folds identical ones within a
 * transaction, so a burst of updates costs listeners one wake-up.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION notify_podcast_job_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('podcast_job_changed', NEW.podcast_id::text);
      RETURN NULL;
    END
    $$`);
  await knex.raw(`
    CREATE TRIGGER podcast_job_changed AFTER INSERT OR UPDATE ON podcast_jobs
    FOR EACH ROW EXECUTE FUNCTION notify_podcast_job_changed()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER podcast_job_changed ON podcast_jobs');
  await knex.raw('DROP FUNCTION notify_podcast_job_changed()');
}
