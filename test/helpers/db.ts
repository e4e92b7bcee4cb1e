import crypto from 'node:crypto';
import type { Knex } from 'knex';
import pg from 'pg';
import { loadConfig } from '../../src/config';
import { createKnex, ensureDatabaseExists, migrateLatest } from '../../src/db';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded';
import { onTeardown } from './teardown';

/**
 * Each test run gets databases of its own on a real PostgreSQL server: the one DATABASE_URL
 * names (CI points it at the machine's PostgreSQL 15), else the embedded one.
 */
let server: Promise<{ baseUrl: string; embedded: EmbeddedDatabase | null }> | undefined;
const created: string[] = [];

function serverUrl() {
  server ??= (async () => {
    const config = loadConfig();
    const embedded = config.DATABASE_URL ? null : await startEmbeddedPostgres({ dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT });
    if (embedded?.owned) onTeardown(() => embedded.stop());
    // Registered after the server's stop, so it runs before it (teardown is last-in, first-out).
    onTeardown(async () => {
      for (const url of created.reverse()) await dropDatabase(url).catch(() => undefined);
    });
    return { baseUrl: config.DATABASE_URL ?? embedded!.url, embedded };
  })();
  return server;
}

function withDatabase(url: string, name: string) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** An empty database, dropped when the run ends. */
export async function emptyDatabase(label: string): Promise<string> {
  const { baseUrl } = await serverUrl();
  const name = `aimake_test_${label}_${crypto.randomBytes(4).toString('hex')}`;
  const url = withDatabase(baseUrl, name);
  await ensureDatabaseExists(url);
  created.push(url);
  return url;
}

export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

let migrated: Promise<{ url: string; knex: Knex }> | undefined;

/** One migrated database shared by the run's tests; each test makes its own users. */
export function testDatabase(): Promise<{ url: string; knex: Knex }> {
  migrated ??= (async () => {
    const url = await emptyDatabase('app');
    const knex = createKnex(url, 10);
    await migrateLatest(knex);
    onTeardown(() => knex.destroy());
    return { url, knex };
  })();
  return migrated;
}
