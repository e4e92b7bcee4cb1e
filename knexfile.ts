// For the knex CLI (`npx knex migrate:status`); the app itself migrates through `npm run migrate`.
import { loadConfig } from './src/config';
import { embeddedDatabaseUrl } from './src/db/embedded';
import { migrationConfig } from './src/db';

const config = loadConfig();

export default {
  client: 'pg',
  connection: config.DATABASE_URL ?? embeddedDatabaseUrl(config.EMBEDDED_PG_PORT),
  migrations: migrationConfig(),
};
