import assert from 'node:assert/strict';
import knexFactory from 'knex';
import type { Client } from '@temporalio/client';
import { createActivities } from '../../activities';
import type { Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { createProviders } from '../../src/providers';
import { ensureSchedules, SCHEDULE_IDS } from '../../src/temporal/schedules';
import { registerUser } from '../helpers/api';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';

const startOfNextMonthUtc = (d = new Date()) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));

describe('operations: schedules and the monthly quota reset', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let client: Client;

  before(async () => {
    // A secret key so the reconciliation schedule is wanted too; should it fire, it stays on loopback.
    stack = await startTestStack({ STRIPE_SECRET_KEY: 'sk_test_schedules', STRIPE_API_BASE_URL: 'http://127.0.0.1:9' });
    client = await stack.temporal.client();
    // Workers started by other test files (test/processes.test.ts) ensure them too: start clean.
    await deleteSchedules();
  });
  after(() => deleteSchedules());

  async function deleteSchedules() {
    for (const id of Object.values(SCHEDULE_IDS))
      await client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
  }

  const configWith = (overrides: Partial<Config>): Config => ({ ...stack.config, ...overrides });

  it('creates the schedules, updates them on a second start, and keeps a pause made in the UI', async () => {
    const first = await ensureSchedules(client, stack.config);
    assert.deepEqual(
      first.map((o) => o.outcome),
      ['created', 'created', 'created', 'created', 'created'],
    );

    const reset = await client.schedule.getHandle(SCHEDULE_IDS.quotaReset).describe();
    assert.equal(reset.action.type, 'startWorkflow');
    assert.equal(reset.action.workflowType, 'quotaResetWorkflow');
    assert.equal(reset.action.taskQueue, stack.taskQueue);
    assert.equal(reset.policies.overlap, 'SKIP');
    assert.equal(reset.policies.catchupWindow, 27 * 86_400_000, 'a missed month is still reset after an outage');
    assert.equal(reset.state.paused, false);
    const next = reset.info.nextActionTimes[0]!;
    assert.deepEqual(next, startOfNextMonthUtc(), '00:00 UTC on the 1st');
    const reconcile = await client.schedule.getHandle(SCHEDULE_IDS.billingReconcile).describe();
    assert.equal(reconcile.action.workflowType, 'reconcileBillingWorkflow');
    const hourly = reconcile.info.nextActionTimes;
    assert.equal(hourly[1]!.getTime() - hourly[0]!.getTime(), 3_600_000, 'hourly');
    const backup = await client.schedule.getHandle(SCHEDULE_IDS.backup).describe();
    assert.equal(backup.action.workflowType, 'backupDatabaseWorkflow');
    assert.equal(backup.info.nextActionTimes[1]!.getTime() - backup.info.nextActionTimes[0]!.getTime(), 86_400_000, 'daily');
    const reconcileJobs = await client.schedule.getHandle(SCHEDULE_IDS.jobReconcile).describe();
    assert.equal(reconcileJobs.action.workflowType, 'reconcileJobsWorkflow');
    const every5min = reconcileJobs.info.nextActionTimes;
    assert.equal(every5min[1]!.getTime() - every5min[0]!.getTime(), 300_000, 'every 5 minutes by default');

    // An operator pauses the backup in the UI; the next worker start must not undo that.
    await client.schedule.getHandle(SCHEDULE_IDS.backup).pause('maintenance');
    const second = await ensureSchedules(client, configWith({ QUOTA_RESET_CRON: '0 0 2 * *', JOB_RECONCILE_CRON: '@every 5s' }));
    assert.deepEqual(
      second.map((o) => o.outcome),
      ['updated', 'updated', 'updated', 'updated', 'updated'],
    );
    const moved = await client.schedule.getHandle(SCHEDULE_IDS.quotaReset).describe();
    assert.equal(moved.info.nextActionTimes[0]!.getUTCDate(), 2, 'the configured spec replaces the old one');
    const often = (await client.schedule.getHandle(SCHEDULE_IDS.jobReconcile).describe()).info.nextActionTimes;
    assert.equal(often[1]!.getTime() - often[0]!.getTime(), 5_000, "'@every 5s' is accepted");
    const paused = await client.schedule.getHandle(SCHEDULE_IDS.backup).describe();
    assert.equal(paused.state.paused, true);
    assert.equal(paused.state.note, 'maintenance');
    await client.schedule.getHandle(SCHEDULE_IDS.backup).unpause();

    // Turned off, or without Stripe: paused, not deleted, so history stays visible.
    const off = await ensureSchedules(client, configWith({ BACKUP_CRON: 'off', STRIPE_SECRET_KEY: undefined }));
    assert.deepEqual(
      off.map((o) => o.outcome),
      ['updated', 'paused', 'paused', 'updated', 'updated'],
    );
    assert.equal((await client.schedule.getHandle(SCHEDULE_IDS.billingReconcile).describe()).state.paused, true);
    await ensureSchedules(client, stack.config);
    await client.schedule.getHandle(SCHEDULE_IDS.billingReconcile).unpause();
  });

  it('the monthly reset, triggered from its schedule, resets exactly the users that are due', async () => {
    const due = await registerUser(stack, 'reset-due');
    const notYet = await registerUser(stack, 'reset-not-yet');
    const unset = await registerUser(stack, 'reset-unset');
    const users = stack.knex('users');
    const nextMonth = startOfNextMonthUtc();
    await users
      .clone()
      .where({ id: due.user.id })
      .update({ quota_used: 500, quota_reset_at: new Date(Date.now() - 60_000) });
    const inAnHour = new Date(Date.now() + 3_600_000);
    await users.clone().where({ id: notYet.user.id }).update({ quota_used: 300, quota_reset_at: inAnHour });
    await users.clone().where({ id: unset.user.id }).update({ quota_used: 200, quota_reset_at: null });

    await ensureSchedules(client, stack.config);
    await client.schedule.getHandle(SCHEDULE_IDS.quotaReset).trigger();
    const done = await eventually(
      async () => {
        const u = await users.clone().where({ id: due.user.id }).first();
        return u!.quota_used === 0 ? u : undefined;
      },
      30_000,
      'the due user to be reset',
    );
    assert.equal(done.quota_reset_at!.toISOString(), nextMonth.toISOString(), 'next reset: the start of next month, UTC');

    const d = await client.schedule.getHandle(SCHEDULE_IDS.quotaReset).describe();
    const run = d.info.recentActions.at(-1)!.action;
    const result = await client.workflow.getHandle(run.workflow.workflowId).result();
    assert.ok(result.reset >= 1);
    assert.equal(result.nextResetAt, nextMonth.toISOString());

    const kept = await users.clone().where({ id: notYet.user.id }).first();
    assert.ok(kept);
    assert.equal(kept.quota_used, 300, 'not due yet: untouched');
    assert.equal(kept.quota_reset_at!.getTime(), inAnHour.getTime());
    const scheduled = await users.clone().where({ id: unset.user.id }).first();
    assert.ok(scheduled);
    assert.equal(scheduled.quota_used, 200, 'no reset time: not reset');
    assert.equal(scheduled.quota_reset_at!.toISOString(), nextMonth.toISOString(), 'but put on the cycle');
  });

  it('computes the month in UTC whatever the session time zone', async () => {
    for (const zone of ['Pacific/Kiritimati', 'Etc/GMT+12']) {
      // A pool whose sessions are far from UTC, unlike the app's (which sets UTC).
      const knex = knexFactory({
        client: 'pg',
        connection: stack.databaseUrl,
        pool: { min: 0, max: 1, afterCreate: (conn: any, done: any) => conn.query(`SET TIME ZONE '${zone}'`, (err: Error) => done(err, conn)) },
      });
      try {
        const u = await registerUser(stack, 'reset-zone');
        await knex('users')
          .where({ id: u.user.id })
          .update({ quota_used: 42, quota_reset_at: new Date(Date.now() - 1000) });
        const soon = await registerUser(stack, 'reset-zone-soon');
        await knex('users')
          .where({ id: soon.user.id })
          .update({ quota_used: 7, quota_reset_at: new Date(Date.now() + 30 * 60_000) });
        const config = configWith({});
        const activities = createActivities({ config, knex, logger: createLogger('silent'), storage: stack.storage, providers: createProviders(config) });
        const result = await activities.resetMonthlyQuotas();
        assert.equal(result.nextResetAt, startOfNextMonthUtc().toISOString(), zone);
        const after = await stack.knex('users').where({ id: u.user.id }).first();
        assert.ok(after);
        assert.equal(after.quota_used, 0);
        assert.equal(after.quota_reset_at!.toISOString(), startOfNextMonthUtc().toISOString(), zone);
        assert.equal((await stack.knex('users').where({ id: soon.user.id }).first())!.quota_used, 7, `${zone}: due in 30 minutes is not due`);
      } finally {
        await knex.destroy();
      }
    }
  });
});
