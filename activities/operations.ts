import { ApplicationFailure, Context } from '@temporalio/activity';
import * as backups from '../src/backup/backups';
import { BackupError } from '../src/backup/errors';
import type { ToolRun } from '../src/backup/pgTools';
import { backupStore } from '../src/backup/store';
import { removeExpiredSegments } from '../src/jobs/podcastSegments';
import { removeExpiredUploads } from '../src/services/uploads';
import { removeFinishedJobPronunciations } from '../src/services/pronunciations';
import { removeExpiredWebhookEvents } from '../src/webhooks/events';
import type { ActivityDeps } from './deps';

// Housekeeping runs under a 5-minute activity timeout; lines left over wait for the next run.
const SEGMENT_REMOVAL_BUDGET_MS = 3 * 60_000;
const UPLOAD_REMOVAL_BUDGET_MS = 60_000;

/**
 * Scheduled operations: the monthly quota reset (seed query 3.5) and the daily backup of seed
 * section 5 (`pg_dump -Fc`, kept BACKUP_RETENTION_DAYS, proven by restoring it into a scratch
 * database). WAL archiving, the seed's hourly and real-time rows, is PostgreSQL configuration and
 * is described in the README.
 */
export function createOperationsActivities({ knex, config, storage, logger }: ActivityDeps) {
  const backup: backups.BackupDeps = { knex, config, store: backupStore(config, storage) };

  return {
    /**
     * Housekeeping: rows that only ever expire. Idempotency keys replay for 24 h, OAuth states
     * live 10 minutes (kept an hour here), sessions until expires_at, rate-limit counters until
     * their window ends (epoch milliseconds, in the limiter library's layout). A podcast's spoken
     * lines (rows and files) go SEGMENT_RETENTION_DAYS after its newest job finished; an uploaded
     * document (row and file) 24 h after its upload unless a podcast used it; a job's copy of the
     * pronunciation dictionary once the job has finished; a webhook event and its delivery log
     * 30 days after the job's end.
     */
    async removeExpiredRecords(): Promise<Record<string, number>> {
      const removed = {
        sessions: await knex('sessions').where('expires_at', '<', knex.fn.now()).delete(),
        idempotencyKeys: await knex('idempotency_keys').where('created_at', '<', knex.raw(`NOW() - INTERVAL '24 hours'`)).delete(),
        oauthStates: await knex('oauth_states').where('created_at', '<', knex.raw(`NOW() - INTERVAL '1 hour'`)).delete(),
        rateLimits: await knex('rate_limits').where('expire', '<', Date.now()).delete(),
        jobPronunciations: await removeFinishedJobPronunciations(knex),
        webhookEvents: await removeExpiredWebhookEvents(knex),
      };
      const segments = await removeExpiredSegments(knex, storage, {
        retentionDays: config.SEGMENT_RETENTION_DAYS,
        deadline: Date.now() + SEGMENT_REMOVAL_BUDGET_MS,
        onError: (podcastId, err) => logger.warn({ err, podcastId }, 'could not remove expired spoken lines; the next run retries'),
      });
      const uploads = await removeExpiredUploads(knex, storage, {
        deadline: Date.now() + UPLOAD_REMOVAL_BUDGET_MS,
        onError: (uploadId, err) => logger.warn({ err, uploadId }, 'could not remove an expired upload; the next run retries'),
      });
      return {
        ...removed,
        podcastSegments: segments.rows,
        segmentFiles: segments.files,
        segmentPodcastsFailed: segments.failed,
        uploads: uploads.removed,
        uploadsFailed: uploads.failed,
      };
    },

    /**
     * Seed query 3.5, due users only, correct in UTC whatever the session's time zone: the seed's
     * CURRENT_DATE is the session's local date, so the month boundary is computed in UTC here and
     * users are due when their reset time has come (not merely its date). Users without a reset
     * time are not reset but put on the cycle (their next reset is the next month's start).
     */
    async resetMonthlyQuotas(): Promise<{ reset: number; scheduled: number; nextResetAt: string }> {
      const nextMonth = `(DATE_TRUNC('month', NOW() AT TIME ZONE 'UTC') + INTERVAL '1 month') AT TIME ZONE 'UTC'`;
      return knex.transaction(async (trx) => {
        const reset = await trx('users')
          .where('quota_reset_at', '<=', trx.fn.now())
          .update({ quota_used: 0, quota_reset_at: trx.raw(nextMonth), updated_at: trx.fn.now() });
        const scheduled = await trx('users')
          .whereNull('quota_reset_at')
          .update({ quota_reset_at: trx.raw(nextMonth) });
        const { rows } = await trx.raw(`SELECT ${nextMonth} AS next`);
        return { reset, scheduled, nextResetAt: (rows[0].next as Date).toISOString() };
      });
    },

    /** A dump of the app database and its manifest (src/backup/backups.ts). */
    async dumpDatabase(): Promise<{ name: string; where: string; bytes: number; tables: number; rows: number; serverMajor: number; pgDumpMajor: number }> {
      return asBackupActivity(() => backups.dumpDatabase(backup, toolRun()));
    },

    /** Deletes dumps older than the retention, never the newest one. */
    async pruneBackups(): Promise<{ deleted: string[]; kept: number }> {
      return asBackupActivity(() => backups.pruneBackups(backup));
    },

    /**
     * Restores a dump (the newest unless named) into a scratch database and compares row counts.
     * The scratch database is named after the workflow id, so a retry cleans up after a crash.
     */
    async restoreCheckBackup(a: { name?: string } = {}): Promise<{ name: string; scratchDatabase: string; tables: number; rows: number }> {
      const info = Context.current().info;
      const owner = info.workflowExecution?.workflowId ?? info.activityId;
      return asBackupActivity(() => backups.restoreCheck(backup, { name: a.name, owner }, toolRun()));
    },
  };
}

/** pg_dump and pg_restore heartbeat while they work (the workflow sets a heartbeat timeout) and stop when the activity is cancelled. */
function toolRun(): ToolRun {
  const ctx = Context.current();
  return { onProgress: (progress) => ctx.heartbeat(progress), signal: ctx.cancellationSignal };
}

/** A backup error cannot be fixed by retrying: the activity fails at once, typed by its code. */
async function asBackupActivity<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof BackupError)) throw err;
    throw ApplicationFailure.create({
      type: err.code,
      message: err.message,
      nonRetryable: true,
      ...(err.details === undefined ? {} : { details: [err.details] }),
    });
  }
}
