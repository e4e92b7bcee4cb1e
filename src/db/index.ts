import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded';

// NUMERIC (durations, costs) arrives as strings by default; our values fit a double exactly enough.
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number.parseFloat(v));
// BIGINT (counts) fits comfortably in a JS number for our row counts.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

export const MIGRATIONS_DIR = path.resolve(__dirname, '../../migrations');

/**
 * The migrations in MIGRATIONS_DIR as TypeScript (tsx) or as the build's JavaScript, always recorded
 * under their source name (`….ts`), so a database migrated by either is up to date for the other.
 */
const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => {
    const ext = path.extname(__filename);
    return fs
      .readdirSync(MIGRATIONS_DIR)
      .filter((f) => f.endsWith(ext) && !f.endsWith('.d.ts'))
      .sort();
  },
  getMigrationName: (file) => file.replace(/\.js$/, '.ts'),
  // require, not import(): under tsx's CommonJS hook (tests) only require compiles TypeScript.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  getMigration: async (file) => require(path.join(MIGRATIONS_DIR, file)) as Knex.Migration,
};

export function migrationConfig(): Knex.MigratorConfig {
  return { migrationSource, tableName: 'knex_migrations' };
}

/** DATABASE_URL when set, else the embedded PostgreSQL (started here if nobody runs it yet). */
export async function resolveDatabase(config: Config, logger?: Logger): Promise<{ url: string; embedded: EmbeddedDatabase | null }> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL, embedded: null };
  const embedded = await startEmbeddedPostgres({
    dataDir: config.DATA_DIR,
    port: config.EMBEDDED_PG_PORT,
    logger,
  });
  return { url: embedded.url, embedded };
}

export function createKnex(url: string, poolMax = 10): Knex {
  const knex = knexFactory({
    client: 'pg',
    connection: url,
    pool: {
      min: 0,
      max: poolMax,
      // Month and day boundaries (usage, quota resets, the monthly_usage view) are UTC whatever
      // the server's default time zone.
      afterCreate: (conn: pg.Client, done: (err: Error | null, conn: pg.Client) => void) => {
        conn.query(`SET TIME ZONE 'UTC'`, (err) => done(err, conn));
      },
    },
    migrations: migrationConfig(),
  });
  return knex;
}

/** A value for a jsonb column: node-postgres would send a JS array as a PostgreSQL array. */
export const jsonb = (db: Knex | Knex.Transaction, value: unknown) => db.raw('?::jsonb', [JSON.stringify(value)]);

/** PostgreSQL's unique_violation: a concurrent request created the same row first. */
export const isUniqueViolation = (err: unknown) => (err as { code?: string } | null)?.code === '23505';

/** Creates the database named in `url` when it does not exist yet. */
export async function ensureDatabaseExists(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, applied] = await knex.migrate.latest(migrationConfig());
  return applied as string[];
}
