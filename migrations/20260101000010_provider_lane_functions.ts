import type { Knex } from 'knex';

/**
 * Provider lanes (migration 009) in one round trip each. A line's claim and its release each
 * took a transaction of seven statements under the lane's advisory lock, about seventeen round
 * trips per line in all; under load the lock was held across those round trips and a freed slot
 * stayed idle while they crawled. Now `provider_lane_claim` and `provider_lane_release` do the
 * same work inside PostgreSQL, as one statement each:
 * - provider_lane_jobs: the jobs with live claims in each lane, whether a line of theirs holds a
 *   slot, and their user_rank: 1 + the user's unfinished podcast jobs older than them (read from
 *   the jobs, not the claims, so it does not change between one line's claim and the next).
 * - provider_lane_grant: under the lane's lock, drops expired claims and, unless the lane is
 *   paused, grants free slots by user_rank, then to the user holding the fewest slots and, among
 *   those, the one served longest ago (provider_lane_users), so the users' current jobs share the
 *   lane evenly; then by job age and claim age, never more at once to
 *   one job than its claims' job_cap (SYNTH_CONCURRENCY; a job may keep more lines waiting than
 *   it may speak, so a freed slot is taken at once); each grant is NOTIFYed on
 *   provider_capacity_granted (src/capacity/providerLanes.ts) with the claim id.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('provider_capacity', (t) => {
    t.integer('job_cap');
  });
  // When each user was last granted a slot of each lane: among users holding as many slots, the
  // one served longest ago goes first (one row per user and provider).
  await knex.schema.createTable('provider_lane_users', (t) => {
    t.string('provider', 20).notNullable();
    t.uuid('user_id').notNullable();
    t.timestamp('last_granted_at', { useTz: true }).notNullable();
    t.primary(['provider', 'user_id']);
  });
  await knex.raw(`
    CREATE VIEW provider_lane_jobs AS
    SELECT c.provider, c.user_id, c.job_id, c.job_created_at,
           bool_or(c.granted_at IS NOT NULL) AS running,
           1 + (SELECT count(*) FROM podcast_jobs j JOIN podcasts p ON p.id = j.podcast_id
                 WHERE p.user_id = c.user_id
                   AND j.status IN ('pending', 'analyzing', 'scripting', 'synthesizing', 'processing')
                   AND (j.created_at < c.job_created_at OR (j.created_at = c.job_created_at AND j.id < c.job_id))) AS user_rank
      FROM provider_capacity c
     WHERE c.expires_at > NOW()
     GROUP BY c.provider, c.user_id, c.job_id, c.job_created_at`);
  await knex.raw(`
    CREATE FUNCTION provider_lane_grant(p_provider text, p_cap int) RETURNS SETOF uuid LANGUAGE plpgsql AS $$
    DECLARE
      granted uuid;
    BEGIN
      PERFORM pg_advisory_xact_lock(hashtext('provider-lane:' || p_provider));
      DELETE FROM provider_capacity WHERE provider = p_provider AND expires_at < NOW();
      IF EXISTS (SELECT 1 FROM provider_lanes WHERE provider = p_provider AND paused_until > NOW()) THEN
        RETURN;
      END IF;
      FOR granted IN
        WITH held AS (SELECT count(*)::int AS n FROM provider_capacity WHERE provider = p_provider AND granted_at IS NOT NULL),
             speaking AS (SELECT job_id, count(*)::int AS n FROM provider_capacity
                           WHERE provider = p_provider AND granted_at IS NOT NULL AND job_id IS NOT NULL GROUP BY job_id),
             held_by_user AS (SELECT user_id, count(*)::int AS n FROM provider_capacity
                               WHERE provider = p_provider AND granted_at IS NOT NULL GROUP BY user_id),
             waiting AS (SELECT c.*, row_number() OVER (PARTITION BY c.job_id ORDER BY c.created_at, c.id) AS nth,
                                row_number() OVER (PARTITION BY c.user_id ORDER BY c.job_created_at, c.created_at, c.id) AS nth_of_user
                           FROM provider_capacity c WHERE c.provider = p_provider AND c.granted_at IS NULL),
             next AS (
               SELECT c.id FROM waiting c
                 JOIN provider_lane_jobs w ON w.provider = c.provider AND w.user_id = c.user_id
                  AND w.job_id IS NOT DISTINCT FROM c.job_id AND w.job_created_at = c.job_created_at
                 LEFT JOIN speaking s ON s.job_id = c.job_id
                 LEFT JOIN held_by_user h ON h.user_id = c.user_id
                 LEFT JOIN provider_lane_users lu ON lu.provider = c.provider AND lu.user_id = c.user_id
                WHERE c.job_cap IS NULL OR c.job_id IS NULL OR COALESCE(s.n, 0) + c.nth <= c.job_cap
                ORDER BY w.user_rank, COALESCE(h.n, 0) + c.nth_of_user, lu.last_granted_at NULLS FIRST, w.job_created_at, c.created_at, c.id
                LIMIT GREATEST(0, p_cap - (SELECT n FROM held)))
        UPDATE provider_capacity SET granted_at = NOW() FROM next WHERE provider_capacity.id = next.id RETURNING provider_capacity.id
      LOOP
        PERFORM pg_notify('provider_capacity_granted', granted::text);
        RETURN NEXT granted;
      END LOOP;
      INSERT INTO provider_lane_users (provider, user_id, last_granted_at)
      SELECT DISTINCT ON (user_id) provider, user_id, granted_at FROM provider_capacity
       WHERE provider = p_provider AND granted_at = NOW()
      ON CONFLICT (provider, user_id) DO UPDATE SET last_granted_at = EXCLUDED.last_granted_at;
    END
    $$`);
  // The lock comes first in both: a grant changes other lines' claims.
  await knex.raw(`
    CREATE FUNCTION provider_lane_claim(
      p_id uuid, p_provider text, p_user uuid, p_job uuid, p_job_created_at timestamptz, p_job_cap int, p_expires_at timestamptz, p_cap int
    ) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_advisory_xact_lock(hashtext('provider-lane:' || p_provider));
      INSERT INTO provider_capacity (id, provider, user_id, job_id, job_created_at, job_cap, expires_at)
      VALUES (p_id, p_provider, p_user, p_job, p_job_created_at, p_job_cap, p_expires_at);
      RETURN p_id IN (SELECT provider_lane_grant(p_provider, p_cap));
    END
    $$`);
  await knex.raw(`
    CREATE FUNCTION provider_lane_release(p_id uuid, p_provider text, p_cap int) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_advisory_xact_lock(hashtext('provider-lane:' || p_provider));
      DELETE FROM provider_capacity WHERE id = p_id;
      PERFORM provider_lane_grant(p_provider, p_cap);
    END
    $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION provider_lane_release(uuid, text, int)');
  await knex.raw('DROP FUNCTION provider_lane_claim(uuid, text, uuid, uuid, timestamptz, int, timestamptz, int)');
  await knex.raw('DROP FUNCTION provider_lane_grant(text, int)');
  await knex.raw('DROP VIEW provider_lane_jobs');
  await knex.schema.dropTable('provider_lane_users');
  await knex.schema.alterTable('provider_capacity', (t) => {
    t.dropColumn('job_cap');
  });
}
