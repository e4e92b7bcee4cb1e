import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const db = proxyActivities<Activities>({ startToCloseTimeout: '5m', retry: { initialInterval: '5s', maximumInterval: '1m', maximumAttempts: 5 } });

/** Every few minutes (a Schedule): jobs whose run ended outside our code are failed and their quota released. */
export async function reconcileJobsWorkflow() {
  return db.reconcileJobs();
}
