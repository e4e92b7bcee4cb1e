import type { Knex } from 'knex';
import { BackupError } from './errors';

export interface PgConnection {
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
export function connectionOf(knex: Knex): PgConnection {
  const client = knex.client as { connectionSettings?: unknown; config: Knex.Config };
  const conn = (client.connectionSettings ?? client.config.connection) as string | (PgConnection & { connectionString?: string }) | undefined;
  if (typeof conn === 'string') return parseUrl(conn);
  if (!conn) throw new BackupError('INVALID_CONFIG', 'The database connection is not configured');
  if (conn.connectionString) return { ...parseUrl(conn.connectionString), ...conn };
  return conn;
}

export async function serverMajorOf(knex: Knex): Promise<number> {
  const { rows } = await knex.raw('SHOW server_version_num');
  return Math.floor(Number(rows[0].server_version_num) / 10_000);
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Row counts of every table in the public schema. */
export async function countRows(query: (sql: string) => Promise<any[]>): Promise<Record<string, number>> {
  const tables = (await query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)).map((r) => r.tablename as string);
  const counts: Record<string, number> = {};
  for (const t of tables) counts[t] = Number((await query(`SELECT count(*) AS n FROM public.${quoteIdent(t)}`))[0].n);
  return counts;
}
