import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import pg from 'pg';
import type { Config } from '../config';
import { connectionOf, countRows, serverMajorOf } from './database';
import { BackupError } from './errors';
import { findPgTools, libpqEnv, runTool, type ToolRun } from './pgTools';
import type { BackupStore } from './store';

/** The database backed up, where its backups are kept, and how long. */
export interface BackupDeps {
  knex: Knex;
  store: BackupStore;
  config: Pick<Config, 'PG_BIN_DIR' | 'root' | 'BACKUP_RETENTION_DAYS'>;
}

/** Stored beside each dump as `<dump>.json`. */
export interface BackupManifest {
  name: string;
  createdAt: string;
  serverVersionMajor: number;
  pgDumpMajor: number;
  tables: Record<string, number>;
}

const DUMP_NAME = /^aimake_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.dump$/;

/** 20260101T033000Z: sortable, and the seed's aimake_<date>.dump naming with the time added. */
const stamp = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');

/** The dumps among the files kept, oldest first. */
function dumpsOf(names: string[]): Array<{ name: string; at: Date }> {
  return names
    .map((name) => ({ name, m: DUMP_NAME.exec(name) }))
    .filter((d): d is { name: string; m: RegExpExecArray } => d.m !== null)
    .map(({ name, m }) => ({ name, at: new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))) }))
    .sort((a, b) => a.at.getTime() - b.at.getTime());
}

/**
 * `pg_dump -Fc` of the app database. The dump reads a snapshot exported by a REPEATABLE READ
 * transaction that also counts every table's rows, so the manifest stored beside the dump
 * holds the exact counts the dump contains (the restore check compares against them).
 */
export async function dumpDatabase({ knex, store, config }: BackupDeps, run: ToolRun = {}) {
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
      await runTool(tools.pgDump, ['--format=custom', `--snapshot=${rows[0].snapshot}`, `--file=${staged}`, '--no-password'], libpqEnv(conn), run);
      return counts;
    });
    const bytes = await store.commit(name, staged);
    const manifest: BackupManifest = { name, createdAt: new Date().toISOString(), serverVersionMajor: serverMajor, pgDumpMajor: tools.major, tables };
    const manifestFile = await store.staging(`${name}.json`);
    await fs.writeFile(manifestFile, JSON.stringify(manifest, null, 2));
    await store.commit(`${name}.json`, manifestFile);
    const rows = Object.values(tables).reduce((a, b) => a + b, 0);
    return { name, where: store.where, bytes, tables: Object.keys(tables).length, rows, serverMajor, pgDumpMajor: tools.major };
  } finally {
    await fs.rm(staged, { force: true });
  }
}

/** Deletes dumps older than the retention, never the newest one (a stalled schedule keeps its last good dump). */
export async function pruneBackups({ store, config }: BackupDeps) {
  const dumps = dumpsOf(await store.list());
  const cutoff = Date.now() - config.BACKUP_RETENTION_DAYS * 86_400_000;
  const expired = dumps.slice(0, -1).filter((d) => d.at.getTime() < cutoff);
  for (const d of expired) {
    await store.remove(d.name);
    await store.remove(`${d.name}.json`);
  }
  await store.sweep();
  return { deleted: expired.map((d) => d.name), kept: dumps.length - expired.length };
}

/**
 * Restores a dump (the newest unless named) into a scratch database with pg_restore and
 * compares every table's row count with the source's at dump time; the scratch database is
 * dropped afterwards. Its name derives from `owner`, so a retry by the same owner cleans up
 * after a crash.
 */
export async function restoreCheck({ knex, store, config }: BackupDeps, a: { name?: string; owner: string }, run: ToolRun = {}) {
  const name = a.name ?? dumpsOf(await store.list()).at(-1)?.name;
  if (!name) throw new BackupError('NO_BACKUP', `No backup found in ${store.where}`);
  const conn = connectionOf(knex);
  const tools = await findPgTools(await serverMajorOf(knex), config);
  const scratch = `aimake_restore_check_${crypto.createHash('sha256').update(a.owner).digest('hex').slice(0, 12)}`;
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'aimake-restore-'));
  try {
    const dump = await store.localCopy(name, tmp);
    const manifest = JSON.parse(await fs.readFile(await store.localCopy(`${name}.json`, tmp), 'utf8')) as Pick<BackupManifest, 'tables'>;
    await knex.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [scratch]);
    await knex.raw('CREATE DATABASE ??', [scratch]);
    let restored: Record<string, number>;
    try {
      await runTool(
        tools.pgRestore,
        [
          '--no-owner',
          '--no-privileges',
          '--no-comments',
          '--no-publications',
          '--no-subscriptions',
          '--exit-on-error',
          '--no-password',
          `--dbname=${scratch}`,
          dump,
        ],
        libpqEnv(conn, scratch),
        run,
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
      throw new BackupError(
        'BACKUP_RESTORE_MISMATCH',
        `${name} restored with different row counts in ${mismatches.map((m) => m.table).join(', ')}`,
        mismatches,
      );
    }
    return { name, scratchDatabase: scratch, tables: tables.length, rows: Object.values(restored).reduce((x, y) => x + y, 0) };
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
