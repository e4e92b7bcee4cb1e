import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createOperationsActivities } from '../../activities/operations';
import { findPgTools } from '../../src/backup/pgTools';
import type { Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { createProviders } from '../../src/providers';
import { registerUser } from '../helpers/api';
import { startTestStack, type TestStack } from '../helpers/stack';

describe('operations: database backups', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let backupDir: string;

  before(async function () {
    backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aimake-backups-'));
    stack = await startTestStack({ BACKUP_DIR: backupDir, BACKUP_RETENTION_DAYS: '30' });
    // pg_dump must match the server (CI: the machine's PostgreSQL 15); say so rather than fail elsewhere.
    const { rows } = await stack.knex.raw('SHOW server_version_num');
    try {
      await findPgTools(Math.floor(Number(rows[0].server_version_num) / 10_000), stack.config);
    } catch (err) {
      // CI runs on the machine's PostgreSQL 15 and its client: there the tools must be found.
      if (process.env.CI) throw err;
      console.warn(`      skipped: ${(err as Error).message}`);
      this.skip();
    }
  });
  after(() => fs.rmSync(backupDir, { recursive: true, force: true }));

  const activitiesWith = (overrides: Partial<Config>) => {
    const config = { ...stack.config, ...overrides };
    return createOperationsActivities({ config, knex: stack.knex, logger: createLogger('silent'), storage: stack.storage, providers: createProviders(config) });
  };
  // Failures provoked on purpose need not be logged.
  const mockEnv = (activityId: string) => new MockActivityEnvironment({ activityId }, { logger: new DefaultLogger('ERROR') });
  /** Runs an activity in a mock activity context, keeping its result type. */
  const run = <A extends unknown[], R>(env: MockActivityEnvironment, fn: (...args: A) => Promise<R>, ...args: A) => env.run(fn, ...args) as Promise<R>;
  const scratchDatabases = async () => (await stack.knex('pg_database').where('datname', 'like', 'aimake_restore_check_%').pluck('datname')) as string[];

  it('dumps the app database, prunes old dumps, and restores the new one with the same row counts', async () => {
    await registerUser(stack, 'backup');
    // Two dumps from long ago: the older one is past the retention and goes, along with its manifest.
    for (const name of ['aimake_20200101T000000Z.dump', 'aimake_20200102T000000Z.dump']) {
      fs.writeFileSync(path.join(backupDir, name), 'old');
      fs.writeFileSync(path.join(backupDir, `${name}.json`), '{}');
    }

    const client = await stack.temporal.client();
    const result = await client.workflow.execute('backupDatabaseWorkflow', { taskQueue: stack.taskQueue, workflowId: `backup-test-${Date.now()}` });
    const { dump, pruned, check } = result as {
      dump: { name: string; bytes: number; tables: number; rows: number; serverMajor: number; pgDumpMajor: number };
      pruned: { deleted: string[]; kept: number };
      check: { name: string; tables: number; rows: number; scratchDatabase: string };
    };
    assert.match(dump.name, /^aimake_\d{8}T\d{6}Z\.dump$/);
    assert.equal(dump.pgDumpMajor, dump.serverMajor, 'the tools match the server');
    const file = path.join(backupDir, dump.name);
    assert.equal(fs.statSync(file).size, dump.bytes);
    assert.equal(fs.readFileSync(file).subarray(0, 5).toString('latin1'), 'PGDMP', 'custom format (-Fc)');

    const manifest = JSON.parse(fs.readFileSync(`${file}.json`, 'utf8'));
    const users = Number((await stack.knex('users').count<{ n: number }[]>('* as n'))[0]!.n);
    assert.ok(manifest.tables.users >= 1 && manifest.tables.users <= users);
    assert.ok(manifest.tables.voices >= 8, 'the seed voices are in the dump');

    assert.deepEqual(pruned.deleted, ['aimake_20200101T000000Z.dump', 'aimake_20200102T000000Z.dump']);
    assert.ok(!fs.existsSync(path.join(backupDir, 'aimake_20200101T000000Z.dump.json')));

    assert.equal(check.name, dump.name);
    assert.equal(check.tables, dump.tables);
    assert.equal(check.rows, dump.rows, 'the restored database holds exactly the dumped rows');
    assert.deepEqual(await scratchDatabases(), [], 'the scratch database is dropped');
  });

  it('keeps the newest dump however old it is', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aimake-backups-old-'));
    try {
      for (const name of ['aimake_20200101T000000Z.dump', 'aimake_20200301T000000Z.dump']) fs.writeFileSync(path.join(dir, name), 'old');
      const pruned = await run(mockEnv('prune'), activitiesWith({ BACKUP_DIR: dir }).pruneBackups);
      assert.deepEqual(pruned, { deleted: ['aimake_20200101T000000Z.dump'], kept: 1 });
      assert.deepEqual(fs.readdirSync(dir), ['aimake_20200301T000000Z.dump']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails the restore check when the restored row counts differ from the source', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aimake-backups-bad-'));
    try {
      const acts = activitiesWith({ BACKUP_DIR: dir });
      const env = mockEnv('restore-mismatch');
      const dump = await run(env, acts.dumpDatabase);
      const manifestFile = path.join(dir, `${dump.name}.json`);
      const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
      manifest.tables.users += 1;
      fs.writeFileSync(manifestFile, JSON.stringify(manifest));
      await assert.rejects(run(env, acts.restoreCheckBackup, {}), (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.type, 'BACKUP_RESTORE_MISMATCH');
        assert.equal(err.nonRetryable, true);
        assert.match(err.message, /users/);
        return true;
      });
      assert.deepEqual(await scratchDatabases(), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps backups in the configured storage (S3 or its folder) when BACKUP_TARGET=storage', async () => {
    const acts = activitiesWith({ BACKUP_TARGET: 'storage' });
    const env = mockEnv('backup-to-storage');
    await stack.storage.deletePrefix('backups');
    const dump = await run(env, acts.dumpDatabase);
    assert.ok(await stack.storage.exists(`backups/${dump.name}`));
    assert.ok(await stack.storage.exists(`backups/${dump.name}.json`));
    const check = await run(env, acts.restoreCheckBackup, {});
    assert.equal(check.name, dump.name, 'the newest dump, found through the index');
    assert.equal(check.rows, dump.rows);
    const pruned = await run(env, acts.pruneBackups);
    assert.deepEqual(pruned, { deleted: [], kept: 1 });
  });
});
