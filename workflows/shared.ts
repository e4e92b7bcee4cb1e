import {
  ActivityCancellationType,
  ActivityFailure,
  type ActivityOptions,
  ApplicationFailure,
  ChildWorkflowFailure,
  proxyActivities,
  TemporalFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { taskQueueOf, type WorkLane } from './taskQueues';
import type { FailureInfo } from './types';

/**
 * Activities of one lane (workflows/taskQueues.ts), on that lane's task queue next to this
 * workflow's own. Every worker registers every activity, so tasks scheduled on the base queue by
 * runs recorded before the lanes existed still find a worker.
 */
export function laneActivities(lane: WorkLane, options: ActivityOptions) {
  return proxyActivities<Activities>({ ...options, taskQueue: taskQueueOf(workflowInfo().taskQueue, lane) });
}

export interface PoolOptions {
  /**
   * Wait for work already started before giving up (the default for new runs): a cancel or a
   * failure then returns only once nothing of the pool is still running, so clean-up never races
   * a line that is still storing its audio. False keeps the first version's behaviour (reject at
   * the first failure while the rest runs on) for runs recorded before the change.
   */
  settle?: boolean;
  /** Called once, at the first failure (e.g. to cancel siblings that would otherwise run on). */
  onFailure?: () => void;
}

/**
 * Runs `work` over `items` with at most `limit` at once, keeping results in input order. After a
 * failure no new item starts; with `settle`, the failure is thrown once the running ones ended.
 * `lane` (0 … limit-1) tells the worker which of the parallel lanes runs the item.
 */
export async function inPool<T, R>(items: T[], limit: number, work: (item: T, lane: number) => Promise<R>, opts: PoolOptions = {}): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async (_, lane) => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        results[i] = await work(items[i]!, lane);
      } catch (error) {
        if (!opts.settle) throw error;
        if (!failure) {
          failure = { error };
          opts.onFailure?.();
        }
      }
    }
  });
  await Promise.all(lanes);
  if (failure) throw (failure as { error: unknown }).error;
  return results;
}

/** The innermost application failure's type and message: what the job records as its error. */
export function failureInfo(err: unknown): FailureInfo {
  let e: unknown = err;
  while (e instanceof ActivityFailure || e instanceof ChildWorkflowFailure || (e instanceof TemporalFailure && !(e instanceof ApplicationFailure) && e.cause)) {
    e = (e as TemporalFailure).cause;
  }
  if (e instanceof ApplicationFailure) return { code: e.type ?? 'INTERNAL', message: e.message };
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : 'Unexpected failure' };
}

/**
 * One line (or chunk) of speech. Providers' rate limits and outages are retried with backoff, a
 * Retry-After from the provider overrides the next delay, and the activity heartbeats so a line
 * whose worker died is retried elsewhere within the heartbeat timeout.
 */
export function speechActivities(heartbeatTimeoutSec: number, cancellationType: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL) {
  return laneActivities('lines', {
    cancellationType,
    // Long: a line may wait for its provider's capacity (src/capacity), which is no failed attempt.
    startToCloseTimeout: '2h',
    heartbeatTimeout: `${heartbeatTimeoutSec}s`,
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 10 },
  });
}
