import fs from 'node:fs';
import path from 'node:path';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import type { Config } from './config';
import type { Tracing } from './tracing';
import { taskQueueOf, WORK_LANES, type WorkLane } from '../workflows/taskQueues';

/**
 * The workflows bundled by `npm run build` (src/bin/bundleWorkflows.ts), next to the compiled code:
 * dist/workflow-bundle.js, and dist/workflow-bundle.traced.js with the tracing interceptors built
 * in (a bundle's interceptors are fixed when it is built). Under tsx these paths name no file and
 * the worker bundles at start.
 */
export const PREBUILT_WORKFLOW_BUNDLES = {
  plain: path.resolve(__dirname, '../workflow-bundle.js'),
  traced: path.resolve(__dirname, '../workflow-bundle.traced.js'),
};

/** The prebuilt bundle when there is one, so a production worker starts without webpack. */
function prebuiltWorkflows(traced: boolean): WorkerOptions['workflowBundle'] {
  const codePath = PREBUILT_WORKFLOW_BUNDLES[traced ? 'traced' : 'plain'];
  return fs.existsSync(codePath) ? { codePath } : undefined;
}

/** Activity slots of each lane in one worker process (README: configuration). */
export function laneSlots(config: Config): Record<WorkLane, number> {
  return {
    bookkeeping: config.WORKER_MAX_ACTIVITIES,
    scripts: config.WORKER_MAX_SCRIPT_ACTIVITIES,
    lines: config.WORKER_MAX_LINE_ACTIVITIES,
    media: config.WORKER_MAX_MEDIA_ACTIVITIES,
    operations: config.WORKER_MAX_OPERATION_ACTIVITIES,
  };
}

/**
 * The workflow side of tracing: spans for each run and each command it schedules, made in the
 * sandbox and handed out through a sink. A given bundle must be built with it
 * (`workflowInterceptorModules`) to be traced, as the build's traced bundle is.
 */
export const TRACING_WORKFLOW_MODULES = [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')];

/** Worker options that trace activities and, on the workflows' lane, the runs (src/tracing.ts). */
function tracingOptions(tracing: Tracing, withWorkflows: boolean, prebuilt: boolean): Partial<WorkerOptions> {
  return {
    interceptors: {
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
      ...(withWorkflows && !prebuilt ? { workflowModules: TRACING_WORKFLOW_MODULES } : {}),
    },
    ...(withWorkflows ? { sinks: { exporter: makeWorkflowExporter(tracing.processor, tracing.resource) } } : {}),
  };
}

/**
 * One worker process: the workflows plus a Temporal worker per lane (workflows/taskQueues.ts),
 * each polling its own task queue with its own slots, over one connection and one set of activities.
 */
export class AimakeWorker {
  private running: Promise<void> | null = null;

  private constructor(
    readonly workers: Worker[],
    /** Where the workflows came from, for the start-up log: a bundle file, or bundled at start. */
    readonly workflowSource: string,
  ) {}

  static async create(opts: {
    connection: NativeConnection;
    namespace: string;
    /** The base task queue (TEMPORAL_TASK_QUEUE); the lanes' queues are named after it. */
    taskQueue: string;
    deps: ActivityDeps;
    /** Tests pass a bundle made once per run; otherwise the build's (PREBUILT_WORKFLOW_BUNDLES), else bundled now. */
    workflowBundle?: WorkerOptions['workflowBundle'];
    /** Started by the process (startTracing); null or absent: no interceptors at all. */
    tracing?: Tracing | null;
  }): Promise<AimakeWorker> {
    const activities = createActivities(opts.deps);
    const slots = laneSlots(opts.deps.config);
    const workflowBundle = opts.workflowBundle ?? prebuiltWorkflows(Boolean(opts.tracing));
    const workers = await Promise.all(
      WORK_LANES.map((lane) =>
        Worker.create({
          connection: opts.connection,
          namespace: opts.namespace,
          taskQueue: taskQueueOf(opts.taskQueue, lane),
          ...(lane !== 'bookkeeping' ? {} : workflowBundle ? { workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
          activities,
          maxConcurrentActivityTaskExecutions: slots[lane],
          // A dead worker's workflows move to another after this (SDK default 10 s).
          stickyQueueScheduleToStartTimeout: '3s',
          // A cancel reaches a running activity only with a heartbeat's answer; the SDK's default
          // throttle (80 % of the heartbeat timeout) would let a canceled line speak on for 24 s.
          maxHeartbeatThrottleInterval: '1s',
          ...(opts.tracing ? tracingOptions(opts.tracing, lane === 'bookkeeping', workflowBundle !== undefined) : {}),
        }),
      ),
    );
    const source = workflowBundle && 'codePath' in workflowBundle ? workflowBundle.codePath : workflowBundle ? 'given bundle' : 'bundled at start';
    return new AimakeWorker(workers, source);
  }

  /** Runs every lane until shutdown; one lane failing shuts the others down too. */
  run(): Promise<void> {
    this.running ??= Promise.all(
      this.workers.map((w) =>
        w.run().catch((err: unknown) => {
          this.shutdown();
          throw err;
        }),
      ),
    ).then(() => undefined);
    return this.running;
  }

  /** Starts a graceful drain of every lane; `run()` resolves once all are done. */
  shutdown(): void {
    for (const w of this.workers) if (w.getState() === 'RUNNING') w.shutdown();
  }
}
