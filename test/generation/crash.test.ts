import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { call, registerUser } from '../helpers/api';
import { pollJob, startTopicPodcast } from '../helpers/generation';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startWorkerProcess as spawnWorker } from '../helpers/workerProcess';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openaiServer';

const LINES = Array.from({ length: 16 }, (_, i) => ({ role: i % 2 ? 'guest' : 'host', text: `Line number ${i + 1} of the crash test, spoken once.` }));

describe('a worker killed mid-synthesis', function () {
  this.timeout(240_000);
  let stack: TestStack;
  let openai: FakeOpenAi;
  const workers: ChildProcess[] = [];

  before(async () => {
    openai = await startFakeOpenAi({ latencyMs: 400 });
    openai.setChatHandler(() => ({ lines: LINES }));
    stack = await startTestStack(
      { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, SYNTH_CONCURRENCY: '2', LINE_HEARTBEAT_TIMEOUT_SEC: '3' },
      { worker: false },
    );
  });
  afterEach(() => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    workers.length = 0;
  });
  after(() => openai.close());

  async function startWorkerProcess(): Promise<ChildProcess> {
    // The worker plans each job's concurrency: two lines at a time, so the kill falls mid-synthesis.
    const child = await spawnWorker(stack, { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, SYNTH_CONCURRENCY: '2' });
    workers.push(child);
    return child;
  }

  const speechTexts = () => openai.requests.filter((r) => r.path === '/v1/audio/speech').map((r) => r.body.input as string);

  it('is replaced by a new worker that finishes the job without re-synthesizing finished lines, charging once', async () => {
    const first = await startWorkerProcess();
    const { token, user } = await registerUser(stack, 'crash');
    const res = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: {
        sourceType: 'topic',
        sourceContent: 'Crash safety',
        targetDuration: 60,
        language: 'en-US',
        hostVoiceId: 'openai-alloy',
        guestVoiceId: 'openai-echo',
      },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const jobId = res.body.job.id;

    const doneBeforeKill = await eventually(
      async () => {
        const rows = await stack.knex('podcast_segments').where({ job_id: jobId }).pluck('line_index');
        return rows.length >= 5 ? rows : undefined;
      },
      120_000,
      'five lines to be synthesized',
    );
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const textsBeforeKill = speechTexts();
    assert.ok(textsBeforeKill.length < LINES.length, 'the kill happened mid-synthesis');

    await startWorkerProcess();
    const { job } = await pollJob(stack, token, res.body.podcast.id, 180_000);
    assert.equal(job.status, 'completed', JSON.stringify(job));

    const all = speechTexts();
    for (const index of doneBeforeKill) {
      const n = all.filter((t) => t === LINES[index]!.text).length;
      assert.equal(n, 1, `line ${index} was finished before the kill and must not be sent again (sent ${n} times)`);
    }
    for (const line of LINES) assert.ok(all.includes(line.text), 'every line was spoken');
    assert.equal(openai.count('/v1/chat/completions'), 1, 'the script was not written twice');

    const usage = await stack.knex('usage_logs').where({ podcast_id: res.body.podcast.id });
    assert.equal(usage.length, 1, 'one charge');
    const podcast = await stack.knex('podcasts').where({ id: res.body.podcast.id }).first();
    const u = await stack.knex('users').where({ id: user.id }).first();
    assert.ok(podcast);
    assert.ok(u);
    assert.equal(u.quota_used, Math.ceil(podcast.duration!));
    assert.equal(u.quota_reserved, 0);
  });

  it('does not buy again a line whose audio was stored but not yet recorded when the worker died', async () => {
    openai.reset();
    const lines = Array.from({ length: 6 }, (_, i) => ({ role: i % 2 ? 'guest' : 'host', text: `Line ${i + 1}, stored just before the crash.` }));
    openai.setChatHandler(() => ({ lines }));
    const worker = await startWorkerProcess();
    const { token } = await registerUser(stack, 'crash-stored');
    const podcastId = await startTopicPodcast(stack, token, 'Crash safety', 60);

    // Recording a line waits on this lock (as it may wait on a busy database), after its audio is stored.
    const lock = await stack.knex.transaction();
    try {
      await lock.raw('LOCK TABLE podcast_segments IN EXCLUSIVE MODE');
      const dir = path.join(stack.storageDir, 'podcasts', podcastId, 'segments');
      const stored = await eventually(
        async () => {
          const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => !f.startsWith('.')) : [];
          // SYNTH_CONCURRENCY is 2: two lines stored, and none other starts while they wait.
          return files.length >= 2 ? files : undefined;
        },
        60_000,
        'lines to be stored',
      );
      assert.equal((await stack.knex('podcast_segments').where({ podcast_id: podcastId })).length, 0, 'no line recorded yet');
      worker.kill('SIGKILL');
      await new Promise((r) => worker.once('exit', r));
      // The dead worker's waiting inserts go with it, as if it had died before sending them.
      await stack.knex.raw(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE 'insert into "podcast_segments"%'`,
      );
      assert.ok(stored.length < lines.length, 'the kill happened mid-synthesis');
    } finally {
      await lock.rollback();
    }

    await startWorkerProcess();
    const { job } = await pollJob(stack, token, podcastId, 120_000);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    const bought = openai.requests.filter((r) => r.path === '/v1/audio/speech' && r.status === 200 && r.complete).map((r) => r.body.input as string);
    for (const line of lines) assert.equal(bought.filter((t) => t === line.text).length, 1, `"${line.text}" was bought once`);
  });
});
