import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleOptionsStartWorkflowAction, type Workflow } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { Config } from '../config';
import type { Logger } from '../logger';

/**
 * The Temporal Schedules the worker keeps in place at start: the monthly quota reset, the hourly
 * billing reconciliation, the daily backup, the hourly housekeeping and the job reconciler. They are visible, pausable and triggerable in
 * the Web UI (Schedules); overlapping runs are skipped. Every start creates what is missing and
 * updates what exists to the configured spec, keeping a pause an operator set in the UI.
 */
export const SCHEDULE_IDS = {
  quotaReset: 'aimake-quota-reset',
  billingReconcile: 'aimake-billing-reconcile',
  backup: 'aimake-backup',
  housekeeping: 'aimake-housekeeping',
  jobReconcile: 'aimake-job-reconcile',
} as const;

interface ScheduleDefinition {
  scheduleId: string;
  cron: string;
  workflowType: string;
  /** Runs are `<workflowId>-<scheduled time>`. */
  workflowId: string;
  description: string;
  /** A run missed while Temporal was down is still taken within this window, then skipped. */
  catchupWindow: Duration;
  /** Why it must not run now (it is then left out, and paused if it exists). */
  disabledReason: string | null;
}

export function scheduleDefinitions(config: Config): ScheduleDefinition[] {
  const off = (cron: string) => (cron.toLowerCase() === 'off' ? 'turned off in the configuration' : null);
  return [
    {
      scheduleId: SCHEDULE_IDS.quotaReset,
      cron: config.QUOTA_RESET_CRON,
      workflowType: 'quotaResetWorkflow',
      workflowId: 'quota-reset',
      description: 'Monthly quota reset (seed query 3.5)',
      // A month's reset must happen even after a long outage; it only touches users who are due.
      catchupWindow: '27 days',
      disabledReason: off(config.QUOTA_RESET_CRON),
    },
    {
      scheduleId: SCHEDULE_IDS.billingReconcile,
      cron: config.BILLING_RECONCILE_CRON,
      workflowType: 'reconcileBillingWorkflow',
      workflowId: 'billing-reconcile',
      description: "Compares Stripe's subscriptions with ours and repairs drift",
      catchupWindow: '1 hour',
      disabledReason: off(config.BILLING_RECONCILE_CRON) ?? (config.STRIPE_SECRET_KEY ? null : 'Stripe is not configured (STRIPE_SECRET_KEY)'),
    },
    {
      scheduleId: SCHEDULE_IDS.backup,
      cron: config.BACKUP_CRON,
      workflowType: 'backupDatabaseWorkflow',
      workflowId: 'backup',
      description: 'pg_dump -Fc, retention, and a restore check into a scratch database',
      catchupWindow: '1 day',
      disabledReason: off(config.BACKUP_CRON),
    },
    {
      scheduleId: SCHEDULE_IDS.housekeeping,
      cron: config.HOUSEKEEPING_CRON,
      workflowType: 'housekeepingWorkflow',
      workflowId: 'housekeeping',
      description: 'Removes expired sessions, idempotency keys, OAuth states and rate-limit counters',
      catchupWindow: '1 hour',
      disabledReason: off(config.HOUSEKEEPING_CRON),
    },
    {
      scheduleId: SCHEDULE_IDS.jobReconcile,
      cron: config.JOB_RECONCILE_CRON,
      workflowType: 'reconcileJobsWorkflow',
      workflowId: 'job-reconcile',
      description: 'Fails jobs whose run ended outside AIMake (terminated, reset, timed out) and releases their quota',
      catchupWindow: '10 minutes',
      disabledReason: off(config.JOB_RECONCILE_CRON),
    },
  ];
}

export type ScheduleOutcome = { scheduleId: string; outcome: 'created' | 'updated' | 'paused' | 'absent' };

export async function ensureSchedules(client: Client, config: Config, logger?: Logger): Promise<ScheduleOutcome[]> {
  const outcomes: ScheduleOutcome[] = [];
  for (const def of scheduleDefinitions(config)) {
    const outcome = def.disabledReason ? await pauseIfPresent(client, def) : await createOrUpdate(client, config, def);
    outcomes.push({ scheduleId: def.scheduleId, outcome });
    logger?.info({ scheduleId: def.scheduleId, cron: def.cron, outcome, reason: def.disabledReason ?? undefined }, 'schedule ensured');
  }
  return outcomes;
}

async function createOrUpdate(client: Client, config: Config, def: ScheduleDefinition): Promise<'created' | 'updated'> {
  const spec = { cronExpressions: [def.cron], timezone: 'UTC' };
  const action: ScheduleOptionsStartWorkflowAction<Workflow> = {
    type: 'startWorkflow',
    workflowType: def.workflowType,
    workflowId: def.workflowId,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    args: [],
  };
  const policies = { overlap: 'SKIP' as const, catchupWindow: def.catchupWindow };
  try {
    await client.schedule.create({
      scheduleId: def.scheduleId,
      spec,
      action,
      policies,
      memo: { description: def.description },
      state: { note: `${def.description}; kept in place by the worker (src/temporal/schedules.ts)` },
    });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  // Updated to the configured spec and action; `state` (paused, note) is kept as the UI left it.
  await client.schedule.getHandle(def.scheduleId).update((prev) => ({ ...prev, spec, action, policies: { ...prev.policies, ...policies } }));
  return 'updated';
}

async function pauseIfPresent(client: Client, def: ScheduleDefinition): Promise<'paused' | 'absent'> {
  const handle = client.schedule.getHandle(def.scheduleId);
  try {
    const d = await handle.describe();
    if (!d.state.paused) await handle.pause(`Paused by the worker: ${def.disabledReason}`);
    return 'paused';
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return 'absent';
    throw err;
  }
}
