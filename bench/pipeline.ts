/**
 * Pipeline benchmark: what a user waits for, next to the floor that the same run measures.
 *
 *   npm run bench:pipeline            (embedded PostgreSQL)
 *   DATABASE_URL=postgres://… npm run bench:pipeline
 *
 * 1. Podcasts of 100 and 1,000 lines against the fake OpenAI server, whose speech endpoint takes
 *    a fixed 200 ms per request, at SYNTH_CONCURRENCY=8; and the 100-line case again at
 *    SYNTH_CONCURRENCY=1 as the sequential baseline.
 * 2. A 10-minute podcast on the local defaults (espeak-ng + ffmpeg, no provider keys).
 *
 * Everything goes through the real stack (HTTP API, Temporal dev server, worker, PostgreSQL),
 * driven over HTTP as a client would. Figures are printed, never asserted: timings on shared
 * machines are for reading, not for failing builds.
 */
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { WorkflowHandle } from '@temporalio/client';
import { podcastWorkflowId } from '../src/temporal/jobs';
import { startFakeOpenAi, type FakeOpenAi } from '../test/fakes/openaiServer';
import { call, registerUser } from '../test/helpers/api';
import { startTestStack, type TestStack } from '../test/helpers/stack';
import { installTestRuntime } from '../test/helpers/temporal';
import { onTeardown } from '../test/helpers/teardown';
import { runBench } from './run';

const TTS_LATENCY_MS = 200;
const CONCURRENCY = 8;
const POLL_MS = 100; // the client's view of "done" is at most this late
const RUN_TIMEOUT_MS = 10 * 60_000;

// ─── timing from Temporal's own history ────────────────────────────────────────────────────────

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];
type Timestamp = HistoryEvent['eventTime'];

/** Protobuf timestamps carry seconds as a Long (or number); both stringify to the integer. */
function tsMs(ts: Timestamp): number {
  if (!ts) return NaN;
  return Number(String(ts.seconds ?? 0)) * 1000 + (ts.nanos ?? 0) / 1e6;
}

interface ActivitySpan {
  type: string;
  scheduledMs: number;
  completedMs: number;
}

/** Every completed activity of a history, as scheduled → completed spans. */
function activitySpans(events: HistoryEvent[]): ActivitySpan[] {
  const scheduled = new Map<string, { type: string; ms: number }>();
  const spans: ActivitySpan[] = [];
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), { type: s.activityType?.name ?? '?', ms: tsMs(e.eventTime) });
    const c = e.activityTaskCompletedEventAttributes;
    if (c) {
      const from = scheduled.get(String(c.scheduledEventId));
      if (from) spans.push({ type: from.type, scheduledMs: from.ms, completedMs: tsMs(e.eventTime) });
    }
  }
  return spans;
}

interface Phases {
  /** workflow start → first line scheduled: reading the source and writing the script. */
  beforeSynthS: number;
  /** first line scheduled → last line completed, over the parent and its child workflows. */
  synthS: number;
  /** stitchPodcast, scheduled → completed. */
  stitchS: number;
  lineP50S: number;
  lineP95S: number;
  /** Most line activities outstanding at once, across all child workflows. */
  peakInFlight: number;
  childWorkflows: number;
}

async function phasesOf(stack: TestStack, podcastId: string): Promise<Phases> {
  const client = await stack.temporal.client();
  const parent = (await client.workflow.getHandle(podcastWorkflowId(podcastId)).fetchHistory()).events ?? [];
  const spans = activitySpans(parent);
  // Long scripts are spoken in child workflows: their line activities live in their own histories.
  const childIds = parent.flatMap((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId ?? []);
  for (const id of childIds) spans.push(...activitySpans((await client.workflow.getHandle(id).fetchHistory()).events ?? []));

  const lines = spans.filter((s) => s.type === 'synthesizePodcastLine');
  const stitch = spans.find((s) => s.type === 'stitchPodcast');
  if (!lines.length || !stitch) throw new Error(`history of podcast ${podcastId} lacks lines or a stitch`);
  const started = tsMs(parent[0]?.eventTime);
  const synthFrom = Math.min(...lines.map((s) => s.scheduledMs));
  const synthTo = Math.max(...lines.map((s) => s.completedMs));
  const durations = lines.map((s) => s.completedMs - s.scheduledMs).sort((a, b) => a - b);
  const pct = (p: number) => durations[Math.min(durations.length - 1, Math.floor(p * durations.length))]! / 1000;

  // Sweep over +1 at scheduled, −1 at completed (completions first on ties: a lane handing over).
  const edges = lines.flatMap((s) => [[s.scheduledMs, 1] as const, [s.completedMs, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let inFlight = 0;
  let peak = 0;
  for (const [, d] of edges) peak = Math.max(peak, (inFlight += d));

  return {
    beforeSynthS: (synthFrom - started) / 1000,
    synthS: (synthTo - synthFrom) / 1000,
    stitchS: (stitch.completedMs - stitch.scheduledMs) / 1000,
    lineP50S: pct(0.5),
    lineP95S: pct(0.95),
    peakInFlight: peak,
    childWorkflows: childIds.length,
  };
}

// ─── driving the API as a client ───────────────────────────────────────────────────────────────

async function newUser(stack: TestStack, label: string) {
  const { token, user } = await registerUser(stack, label);
  // Premium voices need pro/team; a 1,000-line script reserves far more than a free month.
  await stack.knex('users').where({ id: user.id }).update({ plan: 'team', quota_limit: 10_000_000 });
  return token;
}

interface RunResult {
  podcastId: string;
  wallS: number;
  lines: number;
  audioS: number;
  cpu: CpuSplit;
  /** Up to the first poll that sees the job stitching: the lines' cost, without the stitch's. */
  linesCpu: CpuSplit;
}

// ─── where the CPU goes (Linux /proc; elsewhere only the machine-wide share) ───────────────────

const CLK_TCK = 100; // Linux's USER_HZ on every mainstream build
const GROUPS = ['node', 'tools', 'temporal', 'postgres'] as const;
type Group = (typeof GROUPS)[number];
/** Machine busy/total jiffies, and core-seconds so far per process (keyed by pid) with its group. */
type CpuSample = { busy: number; total: number; procs: Map<string, { group: Group; seconds: number }> };
interface CpuSplit {
  /** Machine-wide busy share over the run (other users of the machine included). */
  busy: number;
  /** Core-seconds per process group over the run. */
  groups: Record<Group, number>;
}

/** The database our stacks use; PostgreSQL backends show it in their process title. */
let benchDatabase: string | null = null;

function servesBenchDatabase(pid: string): boolean {
  try {
    // "postgres: [cluster: ]<user> <database> <client> <state>"
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(` ${benchDatabase} `);
  } catch {
    return false;
  }
}

function cpuSample(): CpuSample {
  let busy = 0;
  let total = 0;
  for (const c of os.cpus()) {
    const t = c.times.user + c.times.nice + c.times.sys + c.times.irq + c.times.idle;
    total += t;
    busy += t - c.times.idle;
  }
  const procs: CpuSample['procs'] = new Map();
  let pids: string[] = [];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return { busy, total, procs }; // not Linux: machine share only
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    const own = (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime + stime
    if (Number(pid) === process.pid) {
      procs.set(pid, { group: 'node', seconds: own }); // API, worker (activities, workflow threads), fake TTS, this client
      procs.set('children', { group: 'tools', seconds: (Number(f[13]) + Number(f[14])) / CLK_TCK }); // reaped: ffprobe, ffmpeg, espeak-ng
    } else if (comm.startsWith('temporal') && Number(f[1]) === process.pid) {
      procs.set(pid, { group: 'temporal', seconds: own }); // our dev server, not another run's
    } else if (comm === 'postgres' && benchDatabase && servesBenchDatabase(pid)) {
      procs.set(pid, { group: 'postgres', seconds: own }); // backends of the bench's database only
    }
  }
  return { busy, total, procs };
}

/** Per process, what it used between the samples; a process gone by the end (an idle pool connection) is left out. */
function cpuSplit(a: CpuSample, b: CpuSample): CpuSplit {
  const groups = Object.fromEntries(GROUPS.map((g) => [g, 0])) as Record<Group, number>;
  for (const [pid, now] of b.procs) groups[now.group] += now.seconds - (a.procs.get(pid)?.seconds ?? 0);
  return { busy: (b.busy - a.busy) / Math.max(1, b.total - a.total), groups };
}

/** POST a podcast, poll its job like a client until it ends; wall time is what the client saw. */
async function runPodcast(stack: TestStack, token: string, body: Record<string, unknown>): Promise<RunResult> {
  const t0 = performance.now();
  const cpu0 = cpuSample();
  const created = await call(stack.url, 'POST', '/v1/podcasts', { token, body });
  if (created.status !== 202) throw new Error(`POST /v1/podcasts: ${created.status} ${JSON.stringify(created.body)}`);
  const podcastId: string = created.body.podcast.id;
  let cpuAtStitch: CpuSample | null = null;
  for (;;) {
    const r = await call(stack.url, 'GET', `/v1/podcasts/${podcastId}/job`, { token });
    if (r.status !== 200) throw new Error(`GET job: ${r.status} ${JSON.stringify(r.body)}`);
    if (!cpuAtStitch && (r.body.status === 'processing' || r.body.status === 'completed')) cpuAtStitch = cpuSample();
    if (r.body.status === 'completed') break;
    if (r.body.status === 'failed' || r.body.status === 'canceled') {
      throw new Error(`podcast ${podcastId} ${r.body.status}: ${r.body.errorCode} ${r.body.errorMessage}`);
    }
    if (performance.now() - t0 > RUN_TIMEOUT_MS) throw new Error(`podcast ${podcastId} still ${r.body.status} after ${RUN_TIMEOUT_MS / 1000} s`);
    await new Promise((res) => setTimeout(res, POLL_MS));
  }
  const wallS = (performance.now() - t0) / 1000;
  const cpuEnd = cpuSample();
  const cpu = cpuSplit(cpu0, cpuEnd);
  const linesCpu = cpuSplit(cpu0, cpuAtStitch ?? cpuEnd);
  const podcast = (await call(stack.url, 'GET', `/v1/podcasts/${podcastId}`, { token })).body;
  return { podcastId, wallS, lines: podcast.script?.length ?? 0, audioS: Number(podcast.duration), cpu, linesCpu };
}

// ─── part 1: fake TTS with a fixed latency ─────────────────────────────────────────────────────

/** The topic names the script length, so one stateless chat handler serves every run. */
const topicFor = (lines: number) => `A benchmark episode of ${lines} lines`;

function scriptLines(n: number) {
  // Equal lengths: the fake encodes one MP3 per distinct duration and voice, then serves it from cache.
  return Array.from({ length: n }, (_, i) => ({ role: i % 2 ? 'guest' : 'host', text: `Line ${String(i).padStart(4, '0')} ok.` }));
}

async function startFakeTts(): Promise<FakeOpenAi> {
  // Not `latencyMs`: the fake applies that to every endpoint, chat included. A delay-only fault
  // on the speech path (never used up) slows speech alone, so scripting stays instant.
  const openai = await startFakeOpenAi();
  openai.faults.push({ path: '/v1/audio/speech', delayMs: TTS_LATENCY_MS, times: Number.MAX_SAFE_INTEGER });
  openai.setChatHandler((body: { messages?: Array<{ content?: unknown }> }) => {
    const prompt = (body.messages ?? []).map((m) => String(m.content ?? '')).join('\n');
    const n = Number(/A benchmark episode of (\d+) lines/.exec(prompt)?.[1] ?? 10);
    return { lines: scriptLines(n) };
  });
  onTeardown(() => openai.close());
  return openai;
}

const fakeBody = (lines: number) => ({
  sourceType: 'topic',
  sourceContent: topicFor(lines),
  // ≤ 900 s keeps the LLM script writer to a single chat call (longer targets outline first);
  // the writer does not trim an LLM's script, so all lines are spoken whatever the target.
  targetDuration: 900,
  language: 'en-US',
  hostVoiceId: 'openai-alloy',
  guestVoiceId: 'openai-nova',
});

interface FakeRow {
  label: string;
  lines: number;
  concurrency: number;
  run: RunResult;
  phases: Phases;
  speechRequests: number;
  idealS: number;
}

async function fakeRun(stack: TestStack, openai: FakeOpenAi, token: string, label: string, lines: number, concurrency: number): Promise<FakeRow> {
  const before = openai.count('/v1/audio/speech');
  const run = await runPodcast(stack, token, fakeBody(lines));
  const phases = await phasesOf(stack, run.podcastId);
  const idealS = (lines / concurrency) * (TTS_LATENCY_MS / 1000) + phases.stitchS;
  const row = { label, lines, concurrency, run, phases, speechRequests: openai.count('/v1/audio/speech') - before, idealS };
  // The ideal assumes SYNTH_CONCURRENCY lines in flight; say so if the run ever had more.
  const note = phases.peakInFlight > concurrency ? ` (up to ${phases.peakInFlight} in flight, not ${concurrency}: the ideal is generous)` : '';
  printDetail(row.label, run, phases, `${row.speechRequests} speech requests, ideal ${idealS.toFixed(1)} s${note}`);
  return row;
}

// ─── part 2: a 10-minute podcast on the local defaults ────────────────────────────────────────

/** Varied, plain English prose, longer than 10 minutes at the estimator's 15 characters/s. */
function englishArticle(minChars: number): string {
  const who = ['The engineer', 'A listener', 'Our guest', 'The research team', 'A small studio', 'The city library', 'An old radio host', 'The new intern'];
  const did = ['explained', 'questioned', 'rebuilt', 'recorded', 'measured', 'described', 'compared', 'simplified'];
  const what = [
    'the way long jobs survive a restart',
    'how voices are mixed into one file',
    'why every second is charged once',
    'the cost of waiting for a slow service',
    'a script that two people can read aloud',
    'the sound of a quiet morning',
    'the history of spoken news',
    'a plan for the next season',
  ];
  const when = [
    'before lunch',
    'on a rainy Tuesday',
    'after a long week',
    'in front of a live audience',
    'without any notes',
    'during the night shift',
    'with great patience',
    'for the first time',
  ];
  const paragraphs: string[] = [];
  let sentences: string[] = [];
  let chars = 0;
  for (let i = 0; chars < minChars; i++) {
    const s = `${who[i % who.length]} ${did[(i * 3) % did.length]} ${what[(i * 5) % what.length]} ${when[(i * 7 + (i >> 3)) % when.length]}.`;
    sentences.push(s);
    chars += s.length + 1;
    if (sentences.length === 6) {
      paragraphs.push(sentences.join(' '));
      sentences = [];
    }
  }
  if (sentences.length) paragraphs.push(sentences.join(' '));
  return paragraphs.join('\n\n');
}

const localBody = (targetDuration: number, text: string) => ({
  title: 'Pipeline benchmark',
  sourceType: 'text',
  sourceContent: text,
  targetDuration,
  language: 'en-US',
  hostVoiceId: 'local-en-female',
  guestVoiceId: 'local-en-male',
});

// ─── output ────────────────────────────────────────────────────────────────────────────────────

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const sum = (g: Record<string, number>) => Object.values(g).reduce((a, b) => a + b, 0);
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '–');

function printDetail(label: string, run: RunResult, p: Phases, extra: string) {
  console.log(
    `  ${label}: wall ${f1(run.wallS)} s = before synthesis ${f1(p.beforeSynthS)} s + synthesis ${f1(p.synthS)} s + stitch ${f1(p.stitchS)} s + rest ` +
      `${f1(run.wallS - p.beforeSynthS - p.synthS - p.stitchS)} s | line activity p50 ${f2(p.lineP50S)} s, p95 ${f2(p.lineP95S)} s, ` +
      `peak ${p.peakInFlight} lines in flight, ${p.childWorkflows} child workflows | ${extra}`,
  );
  const g = run.cpu.groups;
  const perLine = sum(g) / Math.max(1, run.lines);
  if (!(sum(g) > 0)) return; // no /proc: nothing to split
  console.log(
    `    CPU: machine ${Math.round(run.cpu.busy * 100)}% busy; core-seconds: node (API + worker + fake TTS) ${f1(g.node)}, ` +
      `ffmpeg/ffprobe/espeak-ng ${f1(g.tools)}, Temporal server ${f1(g.temporal)}, PostgreSQL ${f1(g.postgres)} ` +
      `= ${f2(perLine)} per line, a CPU floor of ${f1((perLine * run.lines) / os.cpus().length)} s on ${os.cpus().length} cores`,
  );
  const l = run.linesCpu.groups;
  console.log(
    `    lines only (until stitching starts): ${f3(lineCoreS(run))} core-seconds per line = node ${f3(l.node / run.lines)} + ` +
      `ffmpeg/ffprobe/espeak-ng ${f3(l.tools / run.lines)} + Temporal ${f3(l.temporal / run.lines)} + PostgreSQL ${f3(l.postgres / run.lines)}`,
  );
}

/** Core-seconds per line until the job starts stitching: what a line costs, stitch excluded. */
const lineCoreS = (run: RunResult) => sum(run.linesCpu.groups) / Math.max(1, run.lines);

function renderTables(header: string[], rows: string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = header.map((_, i) => rows.every((r) => /^[-\d.×–]+$/.test(r[i]!) || r[i] === '–'));
  const cell = (s: string, i: number) => (numeric[i] ? s.padStart(widths[i]!) : s.padEnd(widths[i]!));
  const plain = [header.map(cell).join('  '), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => r.map(cell).join('  '))];
  const md = [`| ${header.join(' | ')} |`, `|${numeric.map((n) => (n ? '---:' : '---')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
  return { plain: plain.join('\n'), md: md.join('\n') };
}

// ─── main ──────────────────────────────────────────────────────────────────────────────────────

async function main() {
  installTestRuntime(); // as test/setup.ts does: the SDK runtime, logging errors only
  const t0 = performance.now();
  const db = process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL';
  console.log(`pipeline benchmark: fake TTS at ${TTS_LATENCY_MS} ms/request, SYNTH_CONCURRENCY ${CONCURRENCY} vs 1; local espeak-ng + ffmpeg (${db})`);

  const openai = await startFakeTts();
  const fakeEnv = { OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: openai.url, ELEVENLABS_API_KEY: '' };
  // Two stacks (each an API and a worker on its own task queue) sharing one Temporal and one
  // database: the config, and so the workflow input, is the only thing that differs.
  const concurrent = await startTestStack({ ...fakeEnv, SYNTH_CONCURRENCY: String(CONCURRENCY) });
  const sequential = await startTestStack({ ...fakeEnv, SYNTH_CONCURRENCY: '1' });
  const concToken = await newUser(concurrent, 'bench-concurrent');
  const seqToken = await newUser(sequential, 'bench-sequential');
  benchDatabase = new URL(concurrent.databaseUrl).pathname.slice(1);
  console.log(`stacks up in ${f1((performance.now() - t0) / 1000)} s`);

  // A small warm-up per worker, so the first measured run does not pay for a cold workflow
  // sandbox, empty connection pools and the fake's first MP3 encodes.
  await runPodcast(concurrent, concToken, fakeBody(10));
  await runPodcast(sequential, seqToken, fakeBody(10));

  console.log('fake TTS:');
  const c100 = await fakeRun(concurrent, openai, concToken, '100 lines, concurrency 8', 100, CONCURRENCY);
  const c1000 = await fakeRun(concurrent, openai, concToken, '1,000 lines, concurrency 8', 1000, CONCURRENCY);
  const s100 = await fakeRun(sequential, openai, seqToken, '100 lines, sequential', 100, 1);
  // Idle workers only long-poll, but stop them anyway so the local run has both cores.
  await concurrent.stopWorker();
  await sequential.stopWorker();

  console.log('local defaults (espeak-ng + ffmpeg):');
  // Empty keys override any in the caller's environment: this must be the offline default path.
  const local = await startTestStack({ OPENAI_API_KEY: '', OPENAI_BASE_URL: '', ELEVENLABS_API_KEY: '' });
  const localToken = await newUser(local, 'bench-local');
  await runPodcast(local, localToken, localBody(60, englishArticle(1_200))); // warm-up, as above
  const article = englishArticle(15_000);
  const localRun = await runPodcast(local, localToken, localBody(600, article));
  const localPhases = await phasesOf(local, localRun.podcastId);
  const rtf = localRun.audioS / localRun.wallS;
  printDetail('10-minute target', localRun, localPhases, `${localRun.lines} lines, ${f1(localRun.audioS)} s of audio, ${article.length} source chars`);

  const header = ['case', 'lines', 'conc', 'wall s', 'synth s', 'stitch s', 'ideal s', 'wall/ideal', 'speed-up', 'core-s/line', 'audio s', 'RTF'];
  const fakeRow = (r: FakeRow, label: string) => [
    label,
    String(r.lines),
    String(r.concurrency),
    f1(r.run.wallS),
    f1(r.phases.synthS),
    f1(r.phases.stitchS),
    f1(r.idealS),
    f2(r.run.wallS / r.idealS),
    r === c1000 ? '–' : `${f2(s100.run.wallS / r.run.wallS)}×`,
    sum(r.run.linesCpu.groups) > 0 ? f3(lineCoreS(r.run)) : '–',
    f1(r.run.audioS),
    '–',
  ];
  const rows = [
    fakeRow(c100, 'fake TTS 200 ms'),
    fakeRow(c1000, 'fake TTS 200 ms'),
    fakeRow(s100, 'fake TTS 200 ms, sequential'),
    [
      'local 10-min podcast',
      String(localRun.lines),
      String(local.config.SYNTH_CONCURRENCY ?? local.config.LOCAL_TTS_MAX_CONCURRENCY),
      f1(localRun.wallS),
      f1(localPhases.synthS),
      f1(localPhases.stitchS),
      '–',
      '–',
      '–',
      sum(localRun.linesCpu.groups) > 0 ? f3(lineCoreS(localRun)) : '–',
      f1(localRun.audioS),
      `${f1(rtf)}×`,
    ],
  ];
  const { plain, md } = renderTables(header, rows);
  console.log(`\nresults (total bench time ${f1((performance.now() - t0) / 1000)} s)\n`);
  console.log(plain);
  console.log('\nMarkdown:\n');
  console.log(md);
}

runBench(main);
