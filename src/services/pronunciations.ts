import type { Knex } from 'knex';
import { AUDIO_FINISHED_STATUSES } from '../jobs/audioJob';
import { FINISHED_STATUSES } from '../jobs/podcastJob';
import { compilePronunciations, type Pronunciation } from '../script/pronunciations';

/** What one dictionary may hold (API.md: at most 500 entries, terms of 1–100 characters). */
export const PRONUNCIATION_LIMITS = { entries: 500, termChars: 100, sayChars: 200 } as const;

/** The caller's dictionary, in the order it was saved. */
export function listPronunciations(knex: Knex, userId: string): Promise<Pronunciation[]> {
  return knex('pronunciations').where({ user_id: userId }).orderBy('position').select('term', 'say');
}

/** Replaces the caller's whole dictionary; terms arrive validated and unique. */
export async function replacePronunciations(knex: Knex, userId: string, items: Pronunciation[]): Promise<Pronunciation[]> {
  await knex.transaction(async (trx) => {
    // Two replacements at once would both delete the old rows and then collide inserting: the
    // second waits for the first and then replaces it whole.
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`pronunciations:${userId}`]);
    await trx('pronunciations').where({ user_id: userId }).delete();
    if (items.length > 0) {
      await trx('pronunciations').insert(items.map((e, position) => ({ user_id: userId, term: e.term, say: e.say, position })));
    }
  });
  return items.map(({ term, say }) => ({ term, say }));
}

/**
 * Copies the user's dictionary for a job when its synthesis is planned, once: a retried plan
 * keeps the first copy, so every line of the job is spoken with the same dictionary.
 */
export async function snapshotJobPronunciations(knex: Knex, job: { jobId: string; userId: string }): Promise<void> {
  await knex.raw(
    `INSERT INTO job_pronunciations (job_id, user_id, items)
     SELECT ?, ?, jsonb_agg(jsonb_build_object('term', term, 'say', say) ORDER BY position)
     FROM pronunciations WHERE user_id = ? HAVING count(*) > 0
     ON CONFLICT (job_id) DO NOTHING`,
    [job.jobId, job.userId, job.userId],
  );
}

/**
 * The dictionary a job speaks with, as the function that rewrites its text. A job's copy never
 * changes once its synthesis is planned, so each worker process reads and compiles it once per
 * job (for the `keep` most recent jobs) instead of once per line.
 */
export function jobPronunciations(knex: Knex, keep = 64): (jobId: string) => Promise<(text: string) => string> {
  const compiled = new Map<string, Promise<(text: string) => string>>();
  return (jobId) => {
    let dictionary = compiled.get(jobId);
    if (dictionary) {
      compiled.delete(jobId); // most recently used last
    } else {
      dictionary = knex('job_pronunciations')
        .where({ job_id: jobId })
        .first('items')
        .then((row) => compilePronunciations(row?.items ?? []));
      dictionary.catch(() => compiled.delete(jobId));
    }
    compiled.set(jobId, dictionary);
    if (compiled.size > keep) compiled.delete(compiled.keys().next().value!);
    return dictionary;
  };
}

/** Housekeeping: a finished job's copy is never read again (a retry is a new job, with its own copy). */
export function removeFinishedJobPronunciations(knex: Knex): Promise<number> {
  return knex('job_pronunciations as jp')
    .whereExists((q) => q.from('podcast_jobs as j').whereRaw('j.id = jp.job_id').whereIn('j.status', FINISHED_STATUSES))
    .orWhereExists((q) => q.from('audio_jobs as a').whereRaw('a.id = jp.job_id').whereIn('a.status', AUDIO_FINISHED_STATUSES))
    .delete();
}
