import { Context } from '@temporalio/activity';
import { reconcileJobs } from '../src/jobs/reconcile';
import type { ActivityDeps } from './deps';
import { webhookEmitter } from './webhooks';

/** Job upkeep that needs Temporal itself: the activity context carries a client of the worker's namespace. */
export function createJobActivities({ knex, logger, config }: ActivityDeps) {
  const emitEvent = webhookEmitter({ knex, config });
  return {
    /**
     * Ends jobs whose run ended outside our code (terminated, reset, timed out), releases their
     * quota and tells their owners' webhooks (a retried activity emits the same events, once).
     */
    async reconcileJobs() {
      return reconcileJobs(knex, Context.current().client, logger, (job) =>
        emitEvent(
          job.kind === 'podcast' ? { type: 'podcast.failed', podcastId: job.podcastId, jobId: job.jobId } : { type: 'audio.failed', audioId: job.audioId },
        ),
      );
    },
  };
}
