import { laneActivities } from './shared';

const db = () => laneActivities('operations', { startToCloseTimeout: '5m', retry: { initialInterval: '5s', maximumInterval: '1m', maximumAttempts: 10 } });
// pg_dump and pg_restore take as long as the database is big; both heartbeat while they run.
const pgTools = () =>
  laneActivities('operations', {
    startToCloseTimeout: '6h',
    heartbeatTimeout: '1m',
    retry: { initialInterval: '1m', maximumAttempts: 3, nonRetryableErrorTypes: ['PG_TOOLS_MISSING', 'BACKUP_RESTORE_MISMATCH'] },
  });

/** Monthly (a Schedule, `0 0 1 * *` UTC): seed query 3.5 for the users whose reset time has come. */
export async function quotaResetWorkflow(): Promise<{ reset: number; scheduled: number; nextResetAt: string }> {
  return db().resetMonthlyQuotas();
}

/**
 * Daily (a Schedule): a `pg_dump -Fc` of the app database, old dumps pruned, and the proof that
 * the new dump restores: it is loaded into a scratch database whose row counts must equal the
 * source's at dump time. A dump that does not restore fails the run, visibly in the UI.
 */
export async function backupDatabaseWorkflow() {
  const dump = await pgTools().dumpDatabase();
  const pruned = await db().pruneBackups();
  const check = await pgTools().restoreCheckBackup({ name: dump.name });
  return { dump, pruned, check };
}

/** Hourly (a Schedule): deletes rows, and spoken lines' files, whose time has passed, and says how many of each. */
export async function housekeepingWorkflow(): Promise<Record<string, number>> {
  return db().removeExpiredRecords();
}
