/**
 * The floor for `npm run bench:polling`: a bare Koa server that answers a podcast job row by id
 * straight from PostgreSQL with `pg`, nothing else (no auth, validation, logging or metrics).
 *
 *   DATABASE_URL=postgres://… PORT=… tsx bench/bareServer.ts
 */
import Koa from 'koa';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DATABASE_POOL_MAX ?? 10) });
const app = new Koa();
const JOB = /^\/jobs\/([0-9a-f-]{36})$/;

app.use(async (ctx) => {
  const id = JOB.exec(ctx.path)?.[1];
  if (!id) return;
  const { rows } = await pool.query('SELECT * FROM podcast_jobs WHERE id = $1', [id]);
  if (rows[0]) ctx.body = rows[0];
});

const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('bare server listening'));
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void pool.end();
});
