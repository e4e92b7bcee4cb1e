import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode, NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createLogger } from '../../src/logger';
import { createProviders } from '../../src/providers';
import { storageFromConfig } from '../../src/storage/fromConfig';
import type { Storage } from '../../src/storage/types';
import type { Tracing } from '../../src/tracing';
import { AimakeWorker, TRACING_WORKFLOW_MODULES } from '../../src/worker';
import { startTestApi, type TestApi } from './api';
import { testTemporal } from './temporal';
import { onTeardown } from './teardown';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
let tracedBundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflows, bundled once per run (bundling takes seconds). */
export function workflowBundle() {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: createLoggerQuiet() });
  return bundle;
}

/** The workflows with the tracing interceptors, as a traced production worker bundles them. */
function tracedWorkflowBundle() {
  tracedBundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    workflowInterceptorModules: TRACING_WORKFLOW_MODULES,
    logger: createLoggerQuiet(),
  });
  return tracedBundle;
}

function createLoggerQuiet() {
  const noop = () => undefined;
  return { trace: noop, debug: noop, info: noop, warn: noop, error: (m: string) => console.error(m), log: noop } as never;
}

export interface TestStack extends TestApi {
  storage: Storage;
  storageDir: string;
  taskQueue: string;
  /** Starts (or restarts) the in-process worker. */
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
}

/**
 * The API plus a worker on a task queue of its own, so test files never steal each other's tasks.
 * `env` configures both, exactly as environment variables configure the real processes.
 */
export async function startTestStack(env: Record<string, string> = {}, opts: { worker?: boolean; tracing?: Tracing } = {}): Promise<TestStack> {
  const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aimake-storage-'));
  const taskQueue = `test-${crypto.randomBytes(4).toString('hex')}`;
  const api = await startTestApi({ STORAGE_DIR: storageDir, TEMPORAL_TASK_QUEUE: taskQueue, SOURCE_ALLOW_LOOPBACK: 'true', ...env });
  const storage = storageFromConfig(api.config);
  const env_ = await testTemporal();
  let worker: AimakeWorker | null = null;
  let running: Promise<void> | null = null;
  let connection: NativeConnection | null = null;

  const startWorker = async () => {
    connection ??= await NativeConnection.connect({ address: env_.address });
    worker = await AimakeWorker.create({
      connection,
      namespace: api.config.TEMPORAL_NAMESPACE,
      taskQueue,
      workflowBundle: await (opts.tracing ? tracedWorkflowBundle() : workflowBundle()),
      tracing: opts.tracing,
      deps: { config: api.config, knex: api.knex, logger: createLogger('silent'), storage, providers: createProviders(api.config) },
    });
    running = worker.run();
  };
  const stopWorker = async () => {
    if (!worker) return;
    worker.shutdown();
    await running?.catch(() => undefined);
    worker = null;
  };
  if (opts.worker !== false) await startWorker();
  onTeardown(async () => {
    await stopWorker();
    await connection?.close();
    fs.rmSync(storageDir, { recursive: true, force: true });
  });
  return { ...api, storage, storageDir, taskQueue, startWorker, stopWorker };
}

/** Polls until `check` returns a value (not undefined), or fails after timeoutMs. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 60_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
