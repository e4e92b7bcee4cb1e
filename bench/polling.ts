/**
 * Polling benchmark: `GET /v1/podcasts/{id}/job` on the real API next to a bare Koa + pg server
 * answering the same row from the same database, both measured in the same run.
 *
 *   npm run bench:polling                                                        (embedded PostgreSQL)
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:polling
 *   BENCH_CPU_PROF=/tmp/prof npm run bench:polling    (also writes both servers' CPU profiles there)
 *
 * The API (`src/bin/api.ts`, as `npm run api` starts it, default LOG_LEVEL) and the bare server
 * (bench/bareServer.ts) each run in a child process, so neither shares an event loop with the load
 * generator (autocannon, in this process). The podcast and its job are rows written here; no worker
 * or Temporal runs (the API's Temporal address points at a closed port: polling never needs it).
 * Figures are printed, never asserted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { stopProcess } from '../src/processes';
import { call } from '../test/helpers/api';
import { testDatabase } from '../test/helpers/db';
import { onTeardown } from '../test/helpers/teardown';
import { runBench } from './run';

const ROOT = path.resolve(__dirname, '..');
const CONNECTIONS = 32;
const WARMUP_S = 3;
const ROUNDS = 2;
const SLICE_S = 5; // per case and round: 10 s of load per case in all

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A TypeScript entry point in a child node process; its output is kept for when it fails. */
function startChild(script: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(ROOT, script)], {
    cwd: ROOT,
    env,
    // stdout (one pino line per request at info) goes nowhere: a pipe read here would cost this
    // process, the load generator, CPU.
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  onTeardown(() => stopProcess(child, 5000));
  return { child, output: () => err };
}

async function waitForHttp(url: string, child: { child: ChildProcess; output: () => string }) {
  const started = Date.now();
  for (;;) {
    if (child.child.exitCode !== null) throw new Error(`${url}: the server exited early:\n${child.output()}`);
    const ok = await fetch(url).then(
      (r) => r.status < 500,
      () => false,
    );
    if (ok) return;
    if (Date.now() - started > 60_000) throw new Error(`${url}: not answering within 60 s:\n${child.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Core-milliseconds a process has used so far (Linux /proc; null elsewhere). */
function cpuMs(pid: number | undefined): number | null {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ ticks
  } catch {
    return null;
  }
}

/** One autocannon run, unaggregated (skipAggregateResult), so runs of a case can be merged. */
interface RawRun {
  totalCompletedRequests: number;
  duration: number;
  errors: number;
}
type Aggregate = (runs: RawRun[], opts: { url: string; connections: number }) => autocannon.Result;

interface Case {
  label: string;
  server: ChildProcess;
  url: string;
  headers: Record<string, string>;
  runs: RawRun[];
  cpuMs: number | null;
}

async function load(c: Case, seconds: number): Promise<RawRun> {
  const before = cpuMs(c.server.pid);
  const run = (await autocannon({
    url: c.url,
    connections: CONNECTIONS,
    duration: seconds,
    headers: c.headers,
    skipAggregateResult: true,
  })) as unknown as RawRun;
  const after = cpuMs(c.server.pid);
  c.cpuMs = before === null || after === null || c.cpuMs === null ? null : c.cpuMs + after - before;
  return run;
}

function figures(c: Case) {
  const merged = (autocannon as unknown as { aggregateResult: Aggregate }).aggregateResult(c.runs, { url: c.url, connections: CONNECTIONS });
  const requests = c.runs.reduce((n, r) => n + r.totalCompletedRequests, 0);
  const seconds = c.runs.reduce((n, r) => n + r.duration, 0);
  const codes = (merged as unknown as { statusCodeStats: Record<string, { count: number }> }).statusCodeStats;
  const statuses = Object.entries(codes).map(([code, { count }]) => `${count} × ${code}`);
  if (merged.errors) statuses.push(`${merged.errors} errors`);
  return {
    rps: requests / seconds,
    p50: merged.latency.p50,
    p99: merged.latency.p99,
    cpuPerReq: c.cpuMs === null ? null : c.cpuMs / requests,
    statuses: statuses.join(', '),
  };
}

async function main() {
  const t0 = performance.now();
  const { url: databaseUrl, knex } = await testDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aimake-bench-polling-'));
  onTeardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  const apiPort = await freePort();
  const barePort = await freePort();
  const profDir = process.env.BENCH_CPU_PROF;
  const profArgs = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  const api = startChild(
    'src/bin/api.ts',
    {
      ...process.env,
      DATABASE_URL: databaseUrl,
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      // Nothing listens there: the job route never talks to Temporal.
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    },
    profArgs,
  );
  const bare = startChild('bench/bareServer.ts', { ...process.env, DATABASE_URL: databaseUrl, PORT: String(barePort) }, profArgs);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  await Promise.all([waitForHttp(`${apiUrl}/healthz`, api), waitForHttp(`http://127.0.0.1:${barePort}/`, bare)]);

  // A signed-in user with a podcast whose job is running, as a client polls it.
  const reg = await call(apiUrl, 'POST', '/v1/auth/register', {
    body: { email: `poller.${process.pid}@example.test`, password: 'correct horse battery staple' },
  });
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${JSON.stringify(reg.body)}`);
  const token = reg.body.token as string;
  const [podcast] = await knex('podcasts')
    .insert({ user_id: reg.body.user.id, title: 'Polling bench', source_type: 'text', source_content: 'Words. '.repeat(2000), status: 'processing' })
    .returning('id');
  if (!podcast) throw new Error('no podcast inserted');
  const [job] = await knex('podcast_jobs')
    .insert({ podcast_id: podcast.id, status: 'synthesizing', progress: 42, current_step: 'synthesizing', started_at: new Date() })
    .returning('id');
  if (!job) throw new Error('no job inserted');

  const jobUrl = `${apiUrl}/v1/podcasts/${podcast.id}/job`;
  const auth = { authorization: `Bearer ${token}` };
  const first = await call(apiUrl, 'GET', `/v1/podcasts/${podcast.id}/job`, { token });
  if (first.status !== 200) throw new Error(`job route answered ${first.status}: ${JSON.stringify(first.body)}`);
  const etag = first.headers.get('etag');
  if (!etag) throw new Error('the job route sent no ETag');
  const bareUrl = `http://127.0.0.1:${barePort}/jobs/${job.id}`;

  const cases: Case[] = [
    { label: 'bare Koa + pg (200)', server: bare.child, url: bareUrl, headers: {} },
    { label: 'API job route (200)', server: api.child, url: jobUrl, headers: auth },
    { label: 'API job route, If-None-Match (304)', server: api.child, url: jobUrl, headers: { ...auth, 'if-none-match': etag } },
  ].map((c) => ({ ...c, runs: [], cpuMs: 0 }));
  console.log(`warming up (${WARMUP_S} s each), then ${ROUNDS} rounds of ${SLICE_S} s each, taking turns, at ${CONNECTIONS} connections`);
  for (const c of cases) await load(c, WARMUP_S);
  for (const c of cases) c.cpuMs = 0;
  // Taking turns spreads whatever else the machine does over all the cases alike.
  for (let round = 0; round < ROUNDS; round++) for (const c of cases) c.runs.push(await load(c, SLICE_S));

  const results = cases.map((c) => ({ label: c.label, ...figures(c) }));
  for (const r of results) console.log(`  ${r.label}: ${r.statuses}`);
  const base = results[0]!.rps;
  const rows = results.map((r) => [r.label, r.rps.toFixed(0), String(r.p50), String(r.p99), (r.rps / base).toFixed(2), r.cpuPerReq?.toFixed(3) ?? '–']);
  const header = ['case', 'req/s', 'p50 ms', 'p99 ms', 'of bare', 'server CPU ms/req'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\nresults (${os.cpus().length} cores, total bench time ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  console.log('\nMarkdown:\n');
  console.log(
    `| ${header.join(' | ')} |\n|---|${header
      .slice(1)
      .map(() => '---:')
      .join('|')}|`,
  );
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  if (profDir) console.log(`\nboth servers' CPU profiles are written to ${profDir} when it stops`);
}

runBench(main);
