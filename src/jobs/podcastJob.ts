import type { Knex } from 'knex';
import type { JobStatus, PodcastJob } from '../models';
import { queuePositionSql } from '../capacity/providerLanes';
import { podcastJobKey, releaseQuota } from '../services/quota';

/**
 * The life of a podcast job, in one place: the API's services and the worker's activities both
 * move a job through these functions, so a status rule is written once.
 *
 *   pending → analyzing → scripting → (draft: waiting for approval) → synthesizing → processing
 *     → completed | failed | canceled
 *
 * A finished job never changes again; progress never goes down; failing or canceling a job
 * releases its quota reservation in the same transaction.
 */
export const FINISHED_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'canceled'];

export const isFinished = (status: JobStatus) => FINISHED_STATUSES.includes(status);

type Db = Knex | Knex.Transaction;

const inTransaction = <T>(db: Db, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> =>
  'isTransaction' in db && db.isTransaction ? work(db as Knex.Transaction) : (db as Knex).transaction(work);

/** The podcast's newest job (a retry creates a new one). */
export function latestJob(db: Db, podcastId: string): Promise<PodcastJob | undefined> {
  return db('podcast_jobs')
    .where({ podcast_id: podcastId })
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .first(...JOB_VIEW_COLUMNS, withQueuePosition(db), withEta(db));
}

/** What a job view shows: every column but the timeline (a long podcast's is hundreds of kB). */
export const JOB_VIEW_COLUMNS = [
  'id',
  'podcast_id',
  'status',
  'progress',
  'current_step',
  'error_code',
  'error_message',
  'started_at',
  'completed_at',
  'created_at',
  'length_note',
  'lines_total',
  'lines_done',
] as const;

const withQueuePosition = (db: Db) => db.raw(`${queuePositionSql('podcast_jobs.id', 'podcast_jobs.status')} AS queue_position`);
const withEta = (db: Db) => db.raw(`${jobEtaSql('podcast_jobs')} AS eta_seconds`);

/**
 * SQL for a running job's seconds to go: the lines left at the pace this job has kept since it
 * started (waiting in its provider's queue included), plus the stitch (~0.05 s a line). NULL until
 * a line is done, and outside synthesis and stitching. Only evaluated for those two statuses.
 */
export function jobEtaSql(job: string): string {
  return `CASE
    WHEN ${job}.status = 'synthesizing' AND ${job}.lines_total > 0 THEN (
      SELECT CASE WHEN count(*) = 0 OR ${job}.started_at IS NULL THEN NULL
        ELSE CEIL(GREATEST(${job}.lines_total - count(*), 0) * EXTRACT(EPOCH FROM (now() - ${job}.started_at)) / count(*) + ${job}.lines_total * 0.05 + 1)::int END
        FROM podcast_segments s WHERE s.job_id = ${job}.id)
    WHEN ${job}.status = 'processing' AND ${job}.lines_total > 0 THEN CEIL(${job}.lines_total * 0.05 + 1)::int
  END`;
}

/** The newest job of each podcast, for a page of them. */
export async function latestJobs(db: Db, podcastIds: string[]): Promise<Map<string, PodcastJob>> {
  if (podcastIds.length === 0) return new Map();
  const jobs: PodcastJob[] = await db('podcast_jobs')
    .distinctOn('podcast_id')
    .select(...JOB_VIEW_COLUMNS, withQueuePosition(db), withEta(db))
    .whereIn('podcast_id', podcastIds)
    .orderBy([{ column: 'podcast_id' }, { column: 'created_at', order: 'desc' }]);
  return new Map(jobs.map((j) => [j.podcast_id, j]));
}

/** A new pending job for a podcast that is (again) processing. */
export async function openJob(trx: Knex.Transaction, podcastId: string): Promise<PodcastJob> {
  const [job] = await trx('podcast_jobs').insert({ podcast_id: podcastId, status: 'pending' }).returning('*');
  if (!job) throw new Error('insert returned no job');
  await trx('podcasts').where({ id: podcastId }).update({ status: 'processing', updated_at: trx.fn.now() });
  return job;
}

/** Mirrors a workflow stage; a finished job is left alone and progress never goes down. */
export async function recordStage(knex: Knex, a: { podcastId: string; jobId: string; status: JobStatus; progress: number; currentStep: string }) {
  await knex.transaction(async (trx) => {
    const n = await trx('podcast_jobs')
      .where({ id: a.jobId })
      .whereNotIn('status', FINISHED_STATUSES)
      .update({
        status: a.status,
        progress: trx.raw('GREATEST(progress, ?)', [a.progress]),
        current_step: a.currentStep.slice(0, 50),
        started_at: trx.raw('COALESCE(started_at, NOW())'),
      });
    if (n) await trx('podcasts').where({ id: a.podcastId }).update({ status: 'processing', updated_at: trx.fn.now() });
  });
}

/** Progress and step text of a running stage, never lowering progress. */
export async function recordProgress(db: Db, jobId: string, whileStatus: JobStatus, progress: number, currentStep: string) {
  await db('podcast_jobs')
    .where({ id: jobId, status: whileStatus })
    .update({ progress: db.raw('GREATEST(progress, ?)', [progress]), current_step: currentStep.slice(0, 50) });
}

/**
 * Records spoken lines of a synthesizing job as progress 15–90 and 'Synthesizing line n of N'.
 * n counts the job's segments, so it covers every worker's lines and lines reused from an earlier
 * run. That count grows with the podcast, so one worker runs it at most once per `everyMs` per
 * job, not once per line: the lines in between skip the write. The last lines may go unwritten;
 * the processing stage that follows moves progress on anyway.
 */
export function lineProgressRecorder(knex: Knex, everyMs = 1000) {
  const lastWrite = new Map<string, number>();
  return async (jobId: string, total: number) => {
    const now = Date.now();
    if (now - (lastWrite.get(jobId) ?? -Infinity) < everyMs) return;
    lastWrite.set(jobId, now);
    if (lastWrite.size > 1000) for (const [id, at] of lastWrite) if (now - at > 60_000) lastWrite.delete(id);
    // `progress <=`: a slower writer's smaller count must not rewind the step text either.
    await knex.raw(
      // LEAST: after the length loop rewrote the script, lines of the first version count too.
      `WITH done AS (SELECT LEAST(count(*)::int, :total) AS n FROM podcast_segments WHERE job_id = :job)
       UPDATE podcast_jobs SET progress = 15 + (75 * done.n / :total)::int,
              current_step = 'Synthesizing line ' || done.n || ' of ' || :total, lines_done = done.n
       FROM done WHERE id = :job AND status = 'synthesizing' AND progress <= 15 + (75 * done.n / :total)::int`,
      { job: jobId, total },
    );
  };
}

/** The step of a review run parked for approval (the job view's `awaitingApproval`). */
export const AWAITING_APPROVAL_STEP = 'Waiting for script approval';

/** A review run parks here: the podcast shows as draft until its script is approved. */
export async function markDraft(knex: Knex, a: { podcastId: string; jobId: string }) {
  await knex.transaction(async (trx) => {
    await trx('podcasts').where({ id: a.podcastId }).update({ status: 'draft', updated_at: trx.fn.now() });
    await trx('podcast_jobs').where({ id: a.jobId }).whereNotIn('status', FINISHED_STATUSES).update({ current_step: AWAITING_APPROVAL_STEP });
  });
}

/**
 * Once the approval has reached the run: the podcast and its job stop looking parked at once,
 * instead of until the run's next step is recorded (a client polling right after approving would
 * otherwise see the draft it just approved). Only a still-parked job is touched, so a run that has
 * moved on already is never rewound.
 */
export async function markApproved(knex: Knex, a: { podcastId: string; jobId: string }) {
  await knex.transaction(async (trx) => {
    const moved = await trx('podcast_jobs')
      .where({ id: a.jobId, current_step: AWAITING_APPROVAL_STEP })
      .whereNotIn('status', FINISHED_STATUSES)
      .update({ current_step: 'Script approved' });
    if (moved) await trx('podcasts').where({ id: a.podcastId, status: 'draft' }).update({ status: 'processing', updated_at: trx.fn.now() });
  });
}

/**
 * Ends an unfinished job as failed or canceled and releases its reservation, in one transaction.
 * Returns false when the job had already finished (nothing changes then, but an open
 * reservation is still released: that is always safe).
 */
export async function endJob(
  db: Db,
  a: { podcastId: string; jobId: string } & ({ status: 'canceled' } | { status: 'failed'; code: string; message: string }),
): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    const n = await trx('podcast_jobs')
      .where({ id: a.jobId })
      .whereNotIn('status', FINISHED_STATUSES)
      .update(
        a.status === 'failed'
          ? { status: 'failed', error_code: a.code.slice(0, 50), error_message: a.message, completed_at: trx.fn.now() }
          : { status: 'canceled', current_step: 'Canceled', completed_at: trx.fn.now() },
      );
    // A podcast that has audio from an earlier generation (edited, then generated again) keeps it.
    if (n)
      await trx('podcasts')
        .where({ id: a.podcastId })
        .update({ status: trx.raw(`CASE WHEN audio_url IS NULL THEN ? ELSE 'completed' END`, [a.status]), updated_at: trx.fn.now() });
    await releaseQuota(trx, podcastJobKey(a.jobId));
    return n > 0;
  });
}

/** Locks a job for its completion transaction; undefined when it has finished meanwhile. */
export async function lockUnfinishedJob(trx: Knex.Transaction, jobId: string): Promise<PodcastJob | undefined> {
  const job = await trx('podcast_jobs').where({ id: jobId }).forUpdate().first();
  return job && !isFinished(job.status) ? job : undefined;
}

/** The last step of a completion transaction: the podcast's audio and the job's end. */
export async function markCompleted(
  trx: Knex.Transaction,
  a: { podcastId: string; jobId: string; audioUrl: string; duration: number; provider: string | null },
) {
  await trx('podcasts').where({ id: a.podcastId }).update({
    audio_url: a.audioUrl,
    duration: a.duration,
    status: 'completed',
    tts_provider: a.provider,
    updated_at: trx.fn.now(),
  });
  await trx('podcast_jobs').where({ id: a.jobId }).update({ status: 'completed', progress: 100, current_step: 'Done', completed_at: trx.fn.now() });
}
