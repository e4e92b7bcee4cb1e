import type { Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { approveScriptSignal, jobSnapshotQuery, podcastWorkflow } from '../../workflows/podcast';
import type { audioWorkflow } from '../../workflows/audio';
import type { JobSnapshot } from '../../workflows/types';
import type { Config } from '../config';
import { AudioIdKey, JobKindKey, PodcastIdKey, UserIdKey } from './searchAttributes';
import { audioWorkflowId, podcastWorkflowId } from './workflowIds';

export { audioWorkflowId, podcastWorkflowId };

/**
 * How the API starts and steers runs. Workflow ids are business ids, so a podcast's runs are
 * `podcast-<podcastId>` and an audio's `audio-<audioId>`; operators find them in the UI by
 * AimakeUserId / AimakePodcastId and see the title in the memo.
 */

export async function startPodcastRun(
  client: Client,
  config: Config,
  run: { podcastId: string; jobId: string; userId: string; title: string | null; review: boolean; scriptReady: boolean },
) {
  return client.workflow.start<typeof podcastWorkflow>('podcastWorkflow', {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowId: podcastWorkflowId(run.podcastId),
    // A retry starts a new run under the same id once the previous one has closed.
    workflowIdConflictPolicy: 'FAIL',
    args: [
      {
        podcastId: run.podcastId,
        jobId: run.jobId,
        userId: run.userId,
        review: run.review,
        scriptReady: run.scriptReady,
        synthConcurrency: config.SYNTH_CONCURRENCY ?? 0,
        linesPerChildWorkflow: config.LINES_PER_CHILD_WORKFLOW,
        reviewTimeoutDays: config.REVIEW_TIMEOUT_DAYS,
        lineHeartbeatTimeoutSec: config.LINE_HEARTBEAT_TIMEOUT_SEC,
      },
    ],
    memo: { title: run.title ?? '(untitled podcast)', jobId: run.jobId },
    // What the Temporal UI shows at the top of the run.
    staticSummary: run.title ?? '(untitled podcast)',
    typedSearchAttributes: new TypedSearchAttributes([
      { key: UserIdKey, value: run.userId },
      { key: PodcastIdKey, value: run.podcastId },
      { key: JobKindKey, value: 'podcast' },
    ]),
  });
}

export async function startAudioRun(client: Client, config: Config, run: { audioId: string; userId: string; title: string | null }) {
  return client.workflow.start<typeof audioWorkflow>('audioWorkflow', {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowId: audioWorkflowId(run.audioId),
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [
      { audioId: run.audioId, userId: run.userId, synthConcurrency: config.SYNTH_CONCURRENCY ?? 0, lineHeartbeatTimeoutSec: config.LINE_HEARTBEAT_TIMEOUT_SEC },
    ],
    memo: { title: run.title ?? '(untitled audio)' },
    staticSummary: run.title ?? '(untitled audio)',
    typedSearchAttributes: new TypedSearchAttributes([
      { key: UserIdKey, value: run.userId },
      { key: AudioIdKey, value: run.audioId },
      { key: JobKindKey, value: 'tts' },
    ]),
  });
}

export const approveScript = (client: Client, podcastId: string) =>
  client.workflow.getHandle(podcastWorkflowId(podcastId)).signal<[]>('approveScript' satisfies (typeof approveScriptSignal)['name']);

export const queryJobSnapshot = (client: Client, podcastId: string) =>
  client.workflow.getHandle(podcastWorkflowId(podcastId)).query<JobSnapshot>('jobSnapshot' satisfies (typeof jobSnapshotQuery)['name']);

export const cancelPodcastRun = (client: Client, podcastId: string) => client.workflow.getHandle(podcastWorkflowId(podcastId)).cancel();
