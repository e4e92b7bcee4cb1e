import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, proxyActivities, TemporalFailure } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FailureInfo } from './types';

/** Runs `work` over `items` with at most `limit` at once, keeping results in input order. */
export async function inPool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  });
  await Promise.all(lanes);
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
export function speechActivities(heartbeatTimeoutSec: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '5m',
    heartbeatTimeout: `${heartbeatTimeoutSec}s`,
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 10 },
  });
}
