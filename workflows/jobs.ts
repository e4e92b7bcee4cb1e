import { laneActivities } from './shared';

const operations = () =>
  laneActivities('operations', { startToCloseTimeout: '5m', retry: { initialInterval: '5s', maximumInterval: '1m', maximumAttempts: 5 } });

/** Every few minutes (a Schedule): jobs whose run ended outside our code are failed and their quota released. */
export async function reconcileJobsWorkflow() {
  return operations().reconcileJobs();
}
