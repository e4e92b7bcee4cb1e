import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { TestStack } from './stack';
import { testTemporal } from './temporal';

/**
 * The real worker entry point as its own process on the stack's database, Temporal, task queue and
 * storage, configured like production by environment; `env` adds to it. With `untilRunning`, it
 * resolves only once the worker polls its task queue (start-up bundles the workflows: seconds).
 * With `built`, it runs the build (`npm run build`'s dist/) with plain node, as production does.
 */
export async function startWorkerProcess(
  stack: TestStack,
  env: Record<string, string>,
  opts: { untilRunning?: boolean; built?: boolean } = {},
): Promise<ChildProcess & { runningLog?: Record<string, unknown> }> {
  const temporal = await testTemporal();
  const root = path.resolve(__dirname, '../..');
  const args = opts.built ? [path.join(root, 'dist/src/bin/worker.js')] : ['--import', 'tsx', path.join(root, 'src/bin/worker.ts')];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: {
      ...process.env,
      LOG_LEVEL: opts.untilRunning ? 'info' : 'warn',
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: stack.taskQueue,
      STORAGE_DIR: stack.storageDir,
      ...env,
    },
    stdio: ['ignore', opts.untilRunning ? 'pipe' : 'ignore', 'inherit'],
  });
  if (opts.untilRunning) return Object.assign(child, { runningLog: await untilRunning(child) });
  return child;
}

/** Reads the worker's JSON log until it says it runs (that line is the result); the rest of its log is dropped. */
function untilRunning(child: ChildProcess): Promise<Record<string, unknown>> {
  const out = child.stdout!;
  return new Promise((resolve, reject) => {
    let pending = '';
    const onData = (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      const running = lines.find((l) => l.includes('"msg":"worker running"'));
      if (!running) return;
      done();
      resolve(JSON.parse(running) as Record<string, unknown>);
    };
    const onExit = (code: number | null, signal: string | null) => {
      done();
      reject(new Error(`the worker exited before it ran (${signal ?? code})`));
    };
    const done = () => {
      out.off('data', onData);
      child.off('exit', onExit);
      out.resume();
    };
    out.on('data', onData);
    child.once('exit', onExit);
  });
}
