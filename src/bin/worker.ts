// `npm run worker`: the Temporal worker process (workflows and activities).
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../config';
import { createKnex, resolveDatabase } from '../db';
import { createLogger } from '../logger';
import { createProviders } from '../providers';
import { storageFromConfig } from '../storage/fromConfig';
import { ensureSearchAttributes } from '../temporal/searchAttributes';
import { ensureSchedules } from '../temporal/schedules';
import { onShutdown } from '../shutdown';
import { startTracing } from '../tracing';
import { AimakeWorker, laneSlots } from '../worker';

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'worker');
  const tracing = startTracing(config, 'aimake-worker');
  // Installed once, before any connection; SIGINT/SIGTERM then drain the worker gracefully.
  Runtime.install({
    // The SDK's own messages go through our logger, as JSON lines like everything else.
    logger: new DefaultLogger(config.LOG_LEVEL === 'debug' || config.LOG_LEVEL === 'trace' ? 'DEBUG' : 'WARN', ({ level, message, meta }) => {
      // The activity-only lanes (workflows/taskQueues.ts) poll no workflow tasks, by design.
      if (message.startsWith('No workflows registered')) return;
      logger[level.toLowerCase() as Lowercase<typeof level>](meta ?? {}, message);
    }),
    ...(config.WORKER_METRICS_ADDRESS ? { telemetryOptions: { metrics: { prometheus: { bindAddress: config.WORKER_METRICS_ADDRESS } } } } : {}),
  });
  const { url, embedded } = await resolveDatabase(config, logger);
  const knex = createKnex(url, config.DATABASE_POOL_MAX);
  const admin = await Connection.connect({ address: config.temporalAddress });
  const added = await ensureSearchAttributes(admin.operatorService, config.TEMPORAL_NAMESPACE);
  if (added.length) logger.info({ added }, 'registered search attributes');
  // Quota reset, billing reconciliation and backups: created, or updated to the configured spec.
  await ensureSchedules(new Client({ connection: admin, namespace: config.TEMPORAL_NAMESPACE }), config, logger);
  await admin.close();
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const worker = await AimakeWorker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    deps: { config, knex, logger, storage: storageFromConfig(config), providers: createProviders(config) },
    tracing,
  });
  logger.info(
    { taskQueue: config.TEMPORAL_TASK_QUEUE, slots: laneSlots(config), address: config.temporalAddress, workflows: worker.workflowSource },
    'worker running',
  );
  const running = worker.run();
  // The SDK's runtime starts draining on SIGINT/SIGTERM; the process exits once the drain is done.
  onShutdown(async () => {
    worker.shutdown();
    await running.catch(() => undefined);
  });
  try {
    await running;
  } finally {
    await connection.close();
    await knex.destroy();
    await tracing?.shutdown();
    if (embedded?.owned) await embedded.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
