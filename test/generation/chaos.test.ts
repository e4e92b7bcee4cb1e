import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { call, registerUser } from '../helpers/api';
import { pollJob } from '../helpers/generation';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startWorkerProcess as spawnWorker } from '../helpers/workerProcess';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openaiServer';

const SPEECH = '/v1/audio/speech';
const USERS = 3;
const PODCASTS_PER_USER = 2;
const LINES_PER_PODCAST = 12;
const KILL_EVERY_MS = 4_000;
/** How long both workers run between kills, at least. */
const BOTH_RUNNING_MS = 1_500;
/**
 * Audio that reached a worker this long before the worker was killed counts as kept: the worker
 * has had time to store it. Audio that arrived just before its worker died may rightly be bought
 * again, since the worker may have died between receiving it and storing it.
 */
const STORE_MARGIN_MS = 1_500;

const WORKER_ENV = { OPENAI_MAX_CONCURRENCY: '4', LINE_HEARTBEAT_TIMEOUT_SEC: '3' };

/**
 * Issue 9's chaos test: two worker processes, one SIGKILLed every few seconds and replaced, against
 * a provider that admits 4 requests at once and fails 30 % of them with 500 or 429. Every job
 * still completes, is charged once, and paid audio is never bought twice.
 */
describe('chaos: workers killed over and over against a capped, failing provider', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let openai: FakeOpenAi;
  const workers: ChildProcess[] = [];
  /** When each worker (by its API key, which the fake logs with every request) was killed. */
  const killedAt = new Map<string, number>();
  let scripts = 0;
  let started = 0;
  // The kill loop, stopped by `stop`; awaited before clean-up so no replacement starts after it.
  let chaos: Promise<void> = Promise.resolve();
  let done = false;
  let wake: () => void = () => undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const stop = () => {
    done = true;
    wake();
    return chaos;
  };

  before(async () => {
    // Slow enough that buying the lines spans several kills however fast the machine starts workers.
    openai = await startFakeOpenAi({ latencyMs: 600, maxConcurrentSpeech: 4, speechFaultRate: 0.3, seed: 9 });
    // Every script's lines are unique across the run, so the fake's log tells which line was bought.
    openai.setChatHandler(() => {
      const n = ++scripts;
      return {
        lines: Array.from({ length: LINES_PER_PODCAST }, (_, i) => ({ role: i % 2 ? 'guest' : 'host', text: `Script ${n}, line ${i + 1}, bought once.` })),
      };
    });
    stack = await startTestStack({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, ...WORKER_ENV }, { worker: false });
  });
  after(async () => {
    await stop().catch(() => undefined);
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await openai.close();
  });

  interface RunningWorker {
    child: ChildProcess;
    key: string;
  }

  async function startWorkerProcess(): Promise<RunningWorker> {
    const key = `sk-chaos-${++started}`;
    const child = await spawnWorker(stack, { OPENAI_API_KEY: key, OPENAI_BASE_URL: openai.url, ...WORKER_ENV }, { untilRunning: true });
    workers.push(child);
    return { child, key };
  }

  async function kill({ child, key }: RunningWorker): Promise<void> {
    const exited = new Promise((r) => child.once('exit', r));
    killedAt.set(key, Date.now());
    child.kill('SIGKILL');
    await exited;
  }

  it('completes every job, charges each once, and never buys a stored line again', async () => {
    const live = await Promise.all([startWorkerProcess(), startWorkerProcess()]);
    const users = [];
    for (let u = 0; u < USERS; u++) users.push(await registerUser(stack, `chaos-${u}`));
    const podcasts: Array<{ token: string; id: string; jobId: string }> = [];
    for (const { token } of users) {
      for (let p = 0; p < PODCASTS_PER_USER; p++) {
        const res = await call(stack.url, 'POST', '/v1/podcasts', {
          token,
          body: {
            sourceType: 'topic',
            sourceContent: 'Chaos',
            targetDuration: 60,
            language: 'en-US',
            hostVoiceId: 'openai-alloy',
            guestVoiceId: 'openai-echo',
          },
        });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        podcasts.push({ token, id: res.body.podcast.id, jobId: res.body.job.id });
      }
    }

    // Kills start once every script is written: a script writer killed mid-call is retried only
    // after its 3-minute heartbeat timeout, which would stall a job for longer than this test runs.
    const jobIds = podcasts.map((p) => p.jobId);
    await eventually(
      async () => ((await stack.knex('podcast_jobs').whereIn('id', jobIds).whereIn('status', ['pending', 'analyzing', 'scripting'])).length ? undefined : true),
      60_000,
      'every script to be written',
    );

    // Every few seconds the worker that has run longest is killed and replaced at once. The next
    // kill waits until the replacement has run for a moment (start-up takes seconds), so one worker
    // is always working and both work between kills.
    chaos = (async () => {
      const runningSince = [Date.now(), Date.now()];
      let replacement: Promise<void> = Promise.resolve();
      while (!done) {
        await pause(KILL_EVERY_MS);
        await replacement;
        if (!done) await pause(Math.max(0, BOTH_RUNNING_MS - (Date.now() - Math.max(...runningSince))));
        if (done) return;
        const slot = runningSince[0]! <= runningSince[1]! ? 0 : 1;
        await kill(live[slot]!);
        replacement = startWorkerProcess().then((worker) => {
          live[slot] = worker;
          runningSince[slot] = Date.now();
        });
      }
    })();
    let jobs;
    try {
      jobs = await Promise.all(podcasts.map((p) => pollJob(stack, p.token, p.id, 240_000)));
    } finally {
      await stop();
    }
    for (const { job } of jobs) assert.equal(job.status, 'completed', JSON.stringify(job));

    // Charged once: one usage row per podcast, and each user's quota holds exactly what was spoken.
    for (const p of podcasts) assert.equal((await stack.knex('usage_logs').where({ podcast_id: p.id })).length, 1, `podcast ${p.id} charged once`);
    for (const { user } of users) {
      const u = await stack.knex('users').where({ id: user.id }).first();
      const mine = await stack.knex('podcasts').where({ user_id: user.id });
      assert.ok(u);
      assert.equal(
        u.quota_used,
        mine.map((p) => Math.ceil(p.duration!)).reduce((a, b) => a + b, 0),
      );
      assert.equal(u.quota_reserved, 0);
    }

    const speech = openai.requests.filter((r) => r.path === SPEECH);
    assert.ok(speech.some((r) => r.status === 500) && speech.some((r) => r.status === 429), 'the provider failed requests with 500 and 429');
    const bought = speech.filter((r) => r.status === 200 && r.complete);
    const texts = new Set(bought.map((r) => r.body.input as string));
    assert.equal(texts.size, USERS * PODCASTS_PER_USER * LINES_PER_PODCAST, 'every line was bought');
    const kills = [...killedAt.values()];
    const killsWhileBuying = kills.filter((k) => k > Math.min(...bought.map((r) => r.finishedAt!)) && k < Math.max(...bought.map((r) => r.finishedAt!)));
    assert.ok(killsWhileBuying.length >= 2, `workers were killed while lines were being bought (${killsWhileBuying.length} of ${kills.length} kills)`);

    // Audio kept by a worker that lived on for a moment is never bought again, by any worker. (Audio
    // whose worker died at once may be: the retry after that kill can come after later kills, so
    // "arrived before a kill" alone would blame a later kill for it.)
    const rebought: string[] = [];
    for (const r of bought) {
      const worker = /^Bearer (.+)$/.exec(String(r.headers.authorization))![1]!;
      const keptAt = r.finishedAt! + STORE_MARGIN_MS;
      if ((killedAt.get(worker) ?? Infinity) < keptAt) continue;
      const again = bought.filter((o) => o.body.input === r.body.input && o.receivedAt! > keptAt);
      if (again.length) rebought.push(`"${r.body.input}" reached ${worker} at ${r.finishedAt}, bought again at ${again.map((o) => o.receivedAt).join(', ')}`);
    }
    assert.deepEqual(rebought, [], 'lines already stored were bought again');
  });
});
