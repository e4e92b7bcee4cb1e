import type { Knex } from 'knex';
import type { Storage } from '../storage/types';
import { FINISHED_STATUSES } from './podcastJob';

/**
 * A podcast's spoken lines: one stored file and one podcast_segments row per line, reused by a
 * retry or an edited script. They are kept for a retention period after the podcast's newest job
 * ends (a two-hour podcast is about 1,500 files), then removed.
 */
export const segmentPrefix = (podcastId: string) => `podcasts/${podcastId}/segments/`;

type Db = Knex | Knex.Transaction;

/** Podcasts with lines whose newest job finished at least `retentionDays` ago. */
async function expiredPodcastIds(db: Db, retentionDays: number, onlyPodcastId?: string): Promise<string[]> {
  const { rows } = await db.raw<{ rows: Array<{ podcast_id: string }> }>(
    `SELECT s.podcast_id
       FROM (SELECT DISTINCT podcast_id FROM podcast_segments ${onlyPodcastId ? 'WHERE podcast_id = :podcastId' : ''}) s
       CROSS JOIN LATERAL (
         SELECT status, completed_at, created_at FROM podcast_jobs j
          WHERE j.podcast_id = s.podcast_id
          ORDER BY j.created_at DESC, j.id
          LIMIT 1) newest
      WHERE newest.status = ANY(:finished)
        -- a finished job without an end time (should not happen) counts from its start
        AND COALESCE(newest.completed_at, newest.created_at) <= NOW() - make_interval(days => :days)`,
    { finished: [...FINISHED_STATUSES], days: retentionDays, ...(onlyPodcastId ? { podcastId: onlyPodcastId } : {}) },
  );
  return rows.map((r) => r.podcast_id);
}

/**
 * Removes a podcast's lines (rows and files) if they have expired, else does nothing. The podcast
 * row stays locked until the files are gone: a retry locks it before opening its job, so no new
 * job can write a line that this removal would then delete.
 */
export async function removeSegmentsIfExpired(
  knex: Knex,
  storage: Storage,
  podcastId: string,
  retentionDays: number,
): Promise<{ rows: number; files: number } | null> {
  return knex.transaction(async (trx) => {
    await trx('podcasts').where({ id: podcastId }).forUpdate().first();
    if ((await expiredPodcastIds(trx, retentionDays, podcastId)).length === 0) return null;
    const rows = await trx('podcast_segments').where({ podcast_id: podcastId }).delete();
    const files = await storage.deletePrefix(segmentPrefix(podcastId));
    return { rows, files };
  });
}

/**
 * Housekeeping: the expired lines of every podcast, one podcast at a time until `deadline`
 * (epoch ms; the rest wait for the next run). A podcast that cannot be cleaned is reported and
 * skipped, so it does not hold up the others.
 */
export async function removeExpiredSegments(
  knex: Knex,
  storage: Storage,
  opts: { retentionDays: number; deadline: number; onError?: (podcastId: string, err: unknown) => void },
): Promise<{ podcasts: number; rows: number; files: number; failed: number }> {
  const done = { podcasts: 0, rows: 0, files: 0, failed: 0 };
  for (const podcastId of await expiredPodcastIds(knex, opts.retentionDays)) {
    if (Date.now() > opts.deadline) break;
    try {
      const removed = await removeSegmentsIfExpired(knex, storage, podcastId, opts.retentionDays);
      if (!removed) continue;
      done.podcasts++;
      done.rows += removed.rows;
      done.files += removed.files;
    } catch (err) {
      done.failed++;
      opts.onError?.(podcastId, err);
    }
  }
  return done;
}
