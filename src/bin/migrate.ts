// `npm run migrate` / `npm run migrate:down`: migrates the database DATABASE_URL names (or the
// embedded one), creating it first if it does not exist.
import { loadConfig } from '../config';
import { createKnex, ensureDatabaseExists, migrationConfig, resolveDatabase } from '../db';
import { createLogger } from '../logger';

async function main() {
  const direction = process.argv[2] === 'down' ? 'down' : 'latest';
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'migrate');
  const { url, embedded } = await resolveDatabase(config, logger);
  await ensureDatabaseExists(url);
  const knex = createKnex(url, 2);
  try {
    if (direction === 'latest') {
      const [, applied] = await knex.migrate.latest(migrationConfig());
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date');
    } else {
      // Rolls back every migration, so up → down → up starts from an empty database.
      const [, undone] = await knex.migrate.rollback(migrationConfig(), true);
      console.log(undone.length ? `rolled back: ${undone.join(', ')}` : 'nothing to roll back');
    }
  } finally {
    await knex.destroy();
    if (embedded?.owned) await embedded.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
