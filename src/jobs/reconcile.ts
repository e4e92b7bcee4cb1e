import { WorkflowNotFoundError, type Client, type WorkflowExecutionStatusName } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Logger } from '../logger';
import { audioWorkflowId, podcastWorkflowId } from '../temporal/workflowIds';
import { failAudioJob, AUDIO_FINISHED_STATUSES } from './audioJob';
import { endJob, FINISHED_STATUSES } from './podcastJob';

/**
 * Runs can end outside our code: an operator terminates or resets one in the Temporal UI, or a
 * run times out. Their workflow never records the end, so the job would read "processing" and
 * hold its quota forever. The reconciler compares unfinished jobs with their runs and ends the
 * ones whose run is gone, releasing their reservations.
 */

/** What became of a job's run, as far as the job is concerned. */
export type RunState = { open: true } | { open: false; code: string; message: string };

// A job is committed before its run starts; a young job without a run may be starting right now.
const START_GRACE_MS = 2 * 60_000;

const ENDED: Partial<Record<WorkflowExecutionStatusName, [code: string, what: string]>> = {
  TERMINATED: ['RUN_TERMINATED', 'was terminated in Temporal'],
  TIMED_OUT: ['RUN_TIMED_OUT', 'timed out in Temporal'],
};

/** The state of the run that should be carrying `jobId` (its memo names the job it runs). */
export async function runState(client: Client, workflowId: string, jobId: string | null, createdAt: Date): Promise<RunState> {
  try {
    const run = await client.workflow.getHandle(workflowId).describe();
    const runJob = (run.memo as { jobId?: string } | undefined)?.jobId;
    // A newer job's run under the same id means this job's own run has long ended.
    const ours = jobId === null || runJob === undefined || runJob === jobId;
    if (ours && run.status.name === 'RUNNING') return { open: true };
    const [code, what] = (ours && ENDED[run.status.name]) || ['RUN_ENDED', 'ended without recording its result'];
    return { open: false, code, message: `The job's run ${what}; nothing was charged` };
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    if (Date.now() - createdAt.getTime() < START_GRACE_MS) return { open: true };
    return { open: false, code: 'RUN_NOT_FOUND', message: "The job's run could not be found; nothing was charged" };
  }
}

export interface ReconcileReport {
  checked: number;
  repaired: Array<{ kind: 'podcast' | 'audio'; id: string; code: string }>;
}

/** A job the reconciler failed, for whoever must hear of it (webhooks). */
export type ReconciledJob = { kind: 'podcast'; podcastId: string; jobId: string } | { kind: 'audio'; audioId: string };

/**
 * Ends every unfinished job whose run is closed or missing, and calls `onFailed` for each after
 * its end has committed. Safe to run any number of times.
 */
export async function reconcileJobs(
  knex: Knex,
  client: Client,
  logger?: Logger,
  onFailed: (job: ReconciledJob) => Promise<void> = async () => undefined,
): Promise<ReconcileReport> {
  const report: ReconcileReport = { checked: 0, repaired: [] };
  const podcastJobs = await knex('podcast_jobs').whereNotIn('status', FINISHED_STATUSES).select('id', 'podcast_id', 'created_at');
  for (const job of podcastJobs) {
    report.checked += 1;
    const state = await runState(client, podcastWorkflowId(job.podcast_id), job.id, job.created_at);
    if (state.open) continue;
    if (await endJob(knex, { podcastId: job.podcast_id, jobId: job.id, status: 'failed', code: state.code, message: state.message })) {
      report.repaired.push({ kind: 'podcast', id: job.podcast_id, code: state.code });
      await onFailed({ kind: 'podcast', podcastId: job.podcast_id, jobId: job.id });
    }
  }
  const audioJobs = await knex('audio_jobs').whereNotIn('status', AUDIO_FINISHED_STATUSES).select('id', 'created_at');
  for (const job of audioJobs) {
    report.checked += 1;
    const state = await runState(client, audioWorkflowId(job.id), null, job.created_at);
    if (state.open) continue;
    if (await failAudioJob(knex, { audioId: job.id, code: state.code, message: state.message })) {
      report.repaired.push({ kind: 'audio', id: job.id, code: state.code });
      await onFailed({ kind: 'audio', audioId: job.id });
    }
  }
  if (report.repaired.length) logger?.warn({ repaired: report.repaired }, 'ended jobs whose runs had ended outside AIMake');
  return report;
}
