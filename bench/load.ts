/**
 * Load benchmark: many users' podcasts at once against a provider with a concurrency limit.
 *
 *   npm run bench:load        (10 users × 3 podcasts of 20 lines, cap 6; then one podcast of 200 lines, cap 8)
 *   LOAD_USERS=4 LOAD_PODCASTS=5 LOAD_LINES=30 LOAD_CAP=6 npm run bench:load     (that case only)
 *
 * The fake OpenAI speech endpoint takes 400 ms per request and admits LOAD_CAP requests at once,
 * answering 429 with Retry-After beyond, like ElevenLabs' concurrency limit; the stack is
 * configured with the same cap (OPENAI_MAX_CONCURRENCY). Every podcast is requested at once over
 * HTTP, then polled until it ends. It prints whether all completed, the wall time over the
 * provider-bound ideal (lines × 0.4 s ÷ cap), the 429s the provider had to send, the mean job
 * time over the wall time (1.0: every job finishes at the very end; lower: jobs finish one after
 * another), and when each user's first podcast finished. It checks nothing.
 */
import { performance } from 'node:perf_hooks';
import { startFakeOpenAi } from '../test/fakes/openaiServer';
import { call, registerUser } from '../test/helpers/api';
import { startTestStack } from '../test/helpers/stack';
import { installTestRuntime } from '../test/helpers/temporal';
import { runBench } from './run';

interface Scenario {
  users: number;
  podcasts: number;
  lines: number;
  cap: number;
}
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SCENARIOS: Scenario[] = ['LOAD_USERS', 'LOAD_PODCASTS', 'LOAD_LINES', 'LOAD_CAP'].some((n) => process.env[n])
  ? [{ users: env('LOAD_USERS', 10), podcasts: env('LOAD_PODCASTS', 3), lines: env('LOAD_LINES', 20), cap: env('LOAD_CAP', 6) }]
  : [
      { users: 10, podcasts: 3, lines: 20, cap: 6 },
      { users: 1, podcasts: 1, lines: 200, cap: 8 },
    ];
const LATENCY_MS = 400;
const f2 = (x: number) => x.toFixed(2);
const f1 = (x: number) => x.toFixed(1);

async function main() {
  installTestRuntime();
  const db = process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL';
  console.log(`load benchmark: provider answering in ${LATENCY_MS} ms, 429 beyond its cap (${db})`);
  const rows: string[] = [];
  const firstDone: string[] = [];
  for (const scenario of SCENARIOS) {
    const r = await run(scenario);
    rows.push(r.row);
    firstDone.push(r.firsts);
  }
  console.log(`\n| users × podcasts × lines | cap | completed | failed | wall s | ideal s | wall/ideal | 429s | mean job / wall |`);
  console.log(`|---|---:|---:|---:|---:|---:|---:|---:|---:|`);
  for (const row of rows) console.log(row);
  for (const f of firstDone) console.log(f);
}

async function run({ users: USERS, podcasts: PODCASTS, lines: LINES, cap: CAP }: Scenario) {
  const openai = await startFakeOpenAi({ latencyMs: LATENCY_MS, maxConcurrentSpeech: CAP });
  openai.setChatHandler(() => ({
    lines: Array.from({ length: LINES }, (_, i) => ({ role: i % 2 ? 'guest' : 'host', text: `Line ${i + 1} of a podcast under load.` })),
  }));
  const stack = await startTestStack({ OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: openai.url, ELEVENLABS_API_KEY: '', OPENAI_MAX_CONCURRENCY: String(CAP) });
  const users = [];
  for (let u = 0; u < USERS; u++) {
    const { token, user } = await registerUser(stack, `load-${u}`);
    await stack.knex('users').where({ id: user.id }).update({ plan: 'team', quota_limit: 10_000_000 });
    users.push(token);
  }

  const t0 = performance.now();
  const requests = users.flatMap((token, u) => Array.from({ length: PODCASTS }, (_, p) => ({ token, u, p })));
  const started = await Promise.all(
    requests.map(async (r) => {
      const res = await call(stack.url, 'POST', '/v1/podcasts', {
        token: r.token,
        body: {
          sourceType: 'topic',
          sourceContent: `Load ${r.u}.${r.p}`,
          targetDuration: 600,
          language: 'en-US',
          hostVoiceId: 'openai-alloy',
          guestVoiceId: 'openai-nova',
        },
      });
      if (res.status !== 202) throw new Error(`POST /v1/podcasts answered ${res.status}: ${JSON.stringify(res.body)}`);
      return { ...r, id: res.body.podcast.id as string, sentAt: performance.now() };
    }),
  );
  const ended = await Promise.all(
    started.map(async (s) => {
      for (;;) {
        const job = (await call(stack.url, 'GET', `/v1/podcasts/${s.id}/job`, { token: s.token })).body;
        if (['completed', 'failed', 'canceled'].includes(job.status)) return { ...s, status: job.status as string, doneS: (performance.now() - t0) / 1000 };
        await new Promise((r) => setTimeout(r, 250));
      }
    }),
  );
  const wallS = Math.max(...ended.map((e) => e.doneS));
  const idealS = (ended.length * LINES * LATENCY_MS) / 1000 / CAP;
  const meanJobS = ended.reduce((s, e) => s + e.doneS - (e.sentAt - t0) / 1000, 0) / ended.length;
  const firsts = users.map((_, u) => Math.min(...ended.filter((e) => e.u === u).map((e) => e.doneS))).sort((a, b) => a - b);
  const completed = ended.filter((e) => e.status === 'completed').length;

  const row =
    `| ${USERS} × ${PODCASTS} × ${LINES} | ${CAP} | ${completed} | ${ended.length - completed} | ${f1(wallS)} | ${f1(idealS)} | ${f2(wallS / idealS)} | ` +
    `${openai.rateLimited()} | ${ended.length > 1 ? f2(meanJobS / wallS) : '–'} |`;
  await stack.stopWorker();
  await openai.close();
  return { row, firsts: `${USERS} × ${PODCASTS} × ${LINES}: first podcast of each user done at (s): ${firsts.map(f1).join(', ')}` };
}

runBench(main);
