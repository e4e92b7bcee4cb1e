// `npm run api`: the HTTP API process.
import { answerMalformedRequests, createApi } from '../api/app';
import { loadConfig } from '../config';
import { createKnex, resolveDatabase } from '../db';
import { createLogger } from '../logger';
import { onShutdown } from '../shutdown';
import { TemporalGateway } from '../temporal/client';
import { startTracing } from '../tracing';

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'api');
  const tracing = startTracing(config, 'aimake-api');
  const { url, embedded } = await resolveDatabase(config, logger);
  const knex = createKnex(url, config.DATABASE_POOL_MAX);
  const temporal = new TemporalGateway(config.temporalAddress, config.TEMPORAL_NAMESPACE, config.TEMPORAL_TASK_QUEUE, logger, tracing !== null);
  const { app, close: closeApi } = createApi({ config, knex, temporal, logger });
  const server = app.listen(config.PORT, config.HOST, () => {
    logger.info({ url: `http://${config.HOST}:${config.PORT}` }, 'API listening');
  });
  answerMalformedRequests(server);
  // Readies the namespace (search attributes) now rather than on the first request; if Temporal
  // is not up yet, the first request that needs it tries again.
  temporal.client().catch((err) => logger.warn({ err }, 'Temporal not ready yet'));

  onShutdown(async () => {
    logger.info('shutting down');
    const closed = new Promise((resolve) => {
      server.close(resolve);
      server.closeIdleConnections();
    });
    // Open event streams would hold server.close() until their jobs end: end them (and their listener) now.
    await closeApi();
    await closed;
    await temporal.close();
    await knex.destroy();
    await tracing?.shutdown();
    if (embedded?.owned) await embedded.stop();
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
