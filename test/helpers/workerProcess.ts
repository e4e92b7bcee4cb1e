import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { TestStack } from './stack';
import { testTemporal } from './temporal';

/**
 * The real worker entry point as its own process on the stack's database, Temporal, task queue and
 * storage, configured like production by environment; `env` adds to it.
 */
export async function startWorkerProcess(stack: TestStack, env: Record<string, string>): Promise<ChildProcess> {
  const temporal = await testTemporal();
  const root = path.resolve(__dirname, '../..');
  return spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/bin/worker.ts')], {
    cwd: root,
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: stack.taskQueue,
      STORAGE_DIR: stack.storageDir,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
