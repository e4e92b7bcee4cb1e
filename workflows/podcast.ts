import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { failureInfo, inPool, laneActivities, speechActivities } from './shared';
import type { JobSnapshot, LineChunkInput, PodcastWorkflowInput, SegmentRef } from './types';

export const jobSnapshotQuery = defineQuery<JobSnapshot>('jobSnapshot');
export const approveScriptSignal = defineSignal('approveScript');

/**
 * Runs from this version on wait for a canceled activity or child to stop before going on, so a
 * cancel or a failure cleans up only once nothing of the job still runs (DESIGN: reliability
 * rules). Runs recorded before keep the old timing, so their histories still replay.
 */
const WAIT_FOR_STOPPED_WORK = 'wait-for-stopped-work-v1';
/** Runs from this version on fit the podcast's length after speaking (the length loop). */
const FIT_LENGTH = 'fit-length-v1';
/** Each round speaks only the lines a rewrite added; two are enough for a deterministic engine. */
const MAX_LENGTH_ROUNDS = 3;

function podcastActivities(waitOnCancel: boolean) {
  const cancellationType = waitOnCancel ? ActivityCancellationType.WAIT_CANCELLATION_COMPLETED : ActivityCancellationType.TRY_CANCEL;
  return {
    // Bookkeeping against our own database: quick, and retried until it works.
    db: proxyActivities<Activities>({
      cancellationType,
      startToCloseTimeout: '30s',
      retry: { initialInterval: '1s', maximumInterval: '30s', nonRetryableErrorTypes: ['QUOTA_EXCEEDED', 'INVALID_STATE'] },
    }),
    // Fetching and reading a source: the fetch itself is capped at 15 s.
    source: laneActivities('scripts', { cancellationType, startToCloseTimeout: '2m', retry: { initialInterval: '2s', maximumAttempts: 4 } }),
    // Script writing may make many LLM calls for a two-hour target; it heartbeats per call.
    scriptWriter: laneActivities('scripts', {
      cancellationType,
      startToCloseTimeout: '30m',
      heartbeatTimeout: '3m',
      retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 6 },
    }),
    // Stitching two hours of audio takes minutes; heartbeats tell a dead worker from a slow one.
    stitcher: laneActivities('media', {
      cancellationType,
      startToCloseTimeout: '1h',
      heartbeatTimeout: '1m',
      retry: { initialInterval: '5s', maximumAttempts: 5 },
    }),
  };
}

/**
 * One podcast job, as a story of steps: read the source, write the script, (wait for approval),
 * speak every line, stitch, and complete in one transaction. Every step is mirrored into
 * podcast_jobs by an activity and readable live through the jobSnapshot query.
 */
export async function podcastWorkflow(input: PodcastWorkflowInput): Promise<{ audioKey: string; duration: number }> {
  const { podcastId, jobId } = input;
  const waitOnCancel = patched(WAIT_FOR_STOPPED_WORK);
  const { db, source, scriptWriter, stitcher } = podcastActivities(waitOnCancel);
  const snapshot: JobSnapshot = { status: 'pending', progress: 0, currentStep: null, awaitingApproval: false };
  let approved = false;
  setHandler(jobSnapshotQuery, () => snapshot);
  setHandler(approveScriptSignal, () => {
    approved = true;
  });

  const stage = async (status: JobSnapshot['status'], progress: number, currentStep: string) => {
    Object.assign(snapshot, { status, progress: Math.max(snapshot.progress, progress), currentStep });
    await db.recordPodcastStage({ podcastId, jobId, status, progress, currentStep });
  };

  try {
    if (!input.scriptReady) {
      await stage('analyzing', 5, 'Reading the source');
      await source.analyzePodcastSource.executeWithOptions({ summary: 'read source' }, [{ podcastId, jobId }]);

      await stage('scripting', 10, 'Writing the script');
      await scriptWriter.writePodcastScript.executeWithOptions({ summary: 'write script' }, [{ podcastId, jobId }]);

      if (input.review) {
        snapshot.awaitingApproval = true;
        await db.markPodcastDraft({ podcastId, jobId });
        const inTime = await condition(() => approved, `${input.reviewTimeoutDays} days`);
        if (!inTime) throw ApplicationFailure.nonRetryable('The script was not approved in time', 'REVIEW_EXPIRED');
        snapshot.awaitingApproval = false;
      }
    }

    // The script may have been edited during review: size the reservation to what will be spoken.
    const plan = await db.planPodcastSynthesis({ podcastId, jobId });
    await stage('synthesizing', 15, `Synthesizing line 0 of ${plan.lines}`);
    // Plans recorded before the job's concurrency followed its provider's lane carry none.
    const synthConcurrency = plan.concurrency ?? input.synthConcurrency;
    let segments = await synthesizeAllLines({ ...input, synthConcurrency }, plan.lines, waitOnCancel, 0, plan.previews);
    // A script the job wrote itself is fitted to its target; a reviewed or edited one is spoken as it is.
    if (!input.scriptReady && !input.review && patched(FIT_LENGTH)) {
      for (let round = 1; round <= MAX_LENGTH_ROUNDS; round++) {
        const fit = await scriptWriter.fitPodcastLength.executeWithOptions({ summary: `fit length, round ${round}` }, [{ podcastId, jobId, segments }]);
        if (!fit.rewritten) break;
        const replan = await db.planPodcastSynthesis({ podcastId, jobId });
        await stage('synthesizing', 15, `Fitting the length: ${replan.lines} lines`);
        segments = await synthesizeAllLines(
          { ...input, synthConcurrency: replan.concurrency ?? synthConcurrency },
          replan.lines,
          waitOnCancel,
          round,
          replan.previews,
        );
      }
    }

    await stage('processing', 90, 'Stitching audio');
    const audio = await stitcher.stitchPodcast.executeWithOptions({ summary: `stitch ${segments.length} lines` }, [{ podcastId, jobId, segments }]);

    await db.completePodcast({ podcastId, jobId, audioKey: audio.key, duration: audio.duration, bytes: audio.bytes });
    Object.assign(snapshot, { status: 'completed', progress: 100, currentStep: 'Done' });
    return { audioKey: audio.key, duration: audio.duration };
  } catch (err) {
    if (isCancellation(err)) {
      Object.assign(snapshot, { status: 'canceled', currentStep: 'Canceled', awaitingApproval: false });
      await CancellationScope.nonCancellable(() => db.cancelPodcast({ podcastId, jobId }));
      throw err;
    }
    const failure = failureInfo(err);
    Object.assign(snapshot, { status: 'failed', currentStep: failure.message.slice(0, 50), awaitingApproval: false });
    await CancellationScope.nonCancellable(() => db.failPodcast({ podcastId, jobId, ...failure }));
    throw ApplicationFailure.nonRetryable(failure.message, failure.code);
  }
}

/**
 * Short scripts are spoken here; long ones in child workflows of a few hundred lines each, so no
 * history grows anywhere near Temporal's limits (a two-hour script is about 1,500 lines).
 */
async function synthesizeAllLines(input: PodcastWorkflowInput, total: number, waitOnCancel: boolean, round = 0, previews?: string[]): Promise<SegmentRef[]> {
  const chunk = input.linesPerChildWorkflow;
  const base = {
    podcastId: input.podcastId,
    jobId: input.jobId,
    total,
    concurrency: input.synthConcurrency,
    lineHeartbeatTimeoutSec: input.lineHeartbeatTimeoutSec,
  };
  if (total <= chunk) return synthesizeLineRange({ ...base, from: 0, to: total, previews }, waitOnCancel);

  // Two children at a time share the job's concurrency: lane 0 takes the larger half, lane 1 the
  // rest, so together they never exceed SYNTH_CONCURRENCY (a single child when it is 1).
  const children = waitOnCancel ? Math.min(2, input.synthConcurrency) : 2;
  const laneConcurrency = (lane: number) =>
    waitOnCancel
      ? lane === 0
        ? Math.ceil(input.synthConcurrency / children)
        : Math.floor(input.synthConcurrency / children)
      : Math.max(1, Math.ceil(input.synthConcurrency / children));
  const ranges: LineChunkInput[] = [];
  for (let from = 0; from < total; from += chunk) {
    const to = Math.min(total, from + chunk);
    // Each child carries only its own lines' previews.
    ranges.push({ ...base, from, to, ...(previews ? { previews: previews.slice(from, to) } : {}) });
  }
  // A failed child cancels its siblings, so they stop starting lines before the failure is recorded.
  const siblings = new CancellationScope();
  const parts = await siblings.run(() =>
    inPool(
      ranges,
      children,
      (range, lane) =>
        executeChild(synthesizeLinesWorkflow, {
          args: [{ ...range, concurrency: laneConcurrency(lane) }],
          workflowId: `${workflowInfo().workflowId}-lines-${range.from}-${input.jobId.slice(0, 8)}${round ? `-r${round}` : ''}`,
        }),
      { settle: waitOnCancel, onFailure: () => siblings.cancel() },
    ),
  );
  return parts.flat();
}

/** `line 12/40 · guest · "In the past…"`; runs recorded before previews show the number alone. */
function lineSummary(range: LineChunkInput, index: number): string {
  const preview = range.previews?.[index - range.from];
  return `line ${index + 1}/${range.total}${preview ? ` · ${preview}` : ''}`;
}

/** Speaks lines [from, to) of a podcast's script with bounded concurrency. */
export async function synthesizeLinesWorkflow(range: LineChunkInput): Promise<SegmentRef[]> {
  return synthesizeLineRange(range, patched(WAIT_FOR_STOPPED_WORK));
}

/**
 * After a line fails for good (or the job is canceled) no new line starts; with waitOnCancel the
 * lines already speaking finish (their audio is paid for and kept) before the failure is thrown.
 */
async function synthesizeLineRange(range: LineChunkInput, waitOnCancel: boolean): Promise<SegmentRef[]> {
  const speech = speechActivities(
    range.lineHeartbeatTimeoutSec,
    waitOnCancel ? ActivityCancellationType.WAIT_CANCELLATION_COMPLETED : ActivityCancellationType.TRY_CANCEL,
  );
  const indexes = Array.from({ length: range.to - range.from }, (_, i) => range.from + i);
  return inPool(
    indexes,
    range.concurrency,
    // The UI's line of this call (user metadata, not compared on replay).
    (index) =>
      speech.synthesizePodcastLine.executeWithOptions({ summary: lineSummary(range, index) }, [
        { podcastId: range.podcastId, jobId: range.jobId, index, total: range.total },
      ]),
    {
      settle: waitOnCancel,
    },
  );
}
