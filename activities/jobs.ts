import { Context } from '@temporalio/activity';
import { reconcileJobs } from '../src/jobs/reconcile';
import type { ActivityDeps } from './deps';

/** Job upkeep that needs Temporal itself: the activity context carries a client of the worker's namespace. */
export function createJobActivities({ knex, logger }: ActivityDeps) {
  return {
    /** Ends jobs whose run ended outside our code (terminated, reset, timed out) and releases their quota. */
    async reconcileJobs() {
      return reconcileJobs(knex, Context.current().client, logger);
    },
  };
}
