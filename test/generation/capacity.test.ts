import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { call, registerUser } from '../helpers/api';
import { pollJob, startTopicPodcast } from '../helpers/generation';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startWorkerProcess as spawnWorker } from '../helpers/workerProcess';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openaiServer';

const lines = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ role: i % 2 ? 'guest' : 'host', text: `Line ${i + 1}, spoken within the provider's capacity.` }));
const SPEECH = '/v1/audio/speech';

const topicPodcast = (stack: TestStack, token: string) => startTopicPodcast(stack, token, 'Capacity');

const heldSlots = async (stack: TestStack) =>
  Number(
    (
      await stack
        .knex('provider_capacity')
        .where({ provider: 'openai' })
        .whereNotNull('granted_at')
        .where('expires_at', '>', stack.knex.fn.now())
        .count<{ n: number }[]>('* as n')
    )[0]?.n ?? 0,
  );

/** Provider capacity is one resource for every worker process, shared fairly between users. */
describe('provider capacity across workers', function () {
  this.timeout(240_000);
  let stack: TestStack;
  let openai: FakeOpenAi;
  const workers: ChildProcess[] = [];

  before(async () => {
    // A provider that admits 3 requests at once and answers 429 beyond, like ElevenLabs.
    openai = await startFakeOpenAi({ latencyMs: 300, maxConcurrentSpeech: 3 });
    openai.setChatHandler(() => ({ lines: lines(10) }));
    stack = await startTestStack(
      { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, SYNTH_CONCURRENCY: '4', OPENAI_MAX_CONCURRENCY: '3', LINE_HEARTBEAT_TIMEOUT_SEC: '3' },
      { worker: false },
    );
  });
  afterEach(() => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    workers.length = 0;
  });
  after(() => openai.close());

  async function startWorkerProcess(): Promise<ChildProcess> {
    const child = await spawnWorker(stack, {
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: openai.url,
      SYNTH_CONCURRENCY: '4',
      OPENAI_MAX_CONCURRENCY: '3',
      LINE_HEARTBEAT_TIMEOUT_SEC: '3',
    });
    workers.push(child);
    return child;
  }

  it('never has more requests in flight than the cap, whatever the number of workers, and no job fails', async () => {
    openai.reset();
    await Promise.all([startWorkerProcess(), startWorkerProcess()]);
    const a = await registerUser(stack, 'cap-a');
    const b = await registerUser(stack, 'cap-b');
    // Four jobs that would put 16 lines in flight at once without a shared cap.
    const podcasts = [
      { token: a.token, id: await topicPodcast(stack, a.token) },
      { token: a.token, id: await topicPodcast(stack, a.token) },
      { token: b.token, id: await topicPodcast(stack, b.token) },
      { token: b.token, id: await topicPodcast(stack, b.token) },
    ];
    for (const p of podcasts) assert.equal((await pollJob(stack, p.token, p.id, 180_000)).job.status, 'completed');
    assert.equal(openai.count(SPEECH), 40);
    assert.ok(openai.maxSpeechInFlight() <= 3, `at most 3 at once, saw ${openai.maxSpeechInFlight()}`);
    assert.ok(openai.maxSpeechInFlight() >= 2, 'the workers spoke in parallel');
    assert.equal(openai.rateLimited(), 0, 'the provider never had to refuse a request');
  });

  it('gives back the capacity of a worker killed while holding it, within the heartbeat timeout', async () => {
    openai.reset();
    openai.faults.push({ path: SPEECH, delayMs: 60_000, times: 3 });
    const first = await startWorkerProcess();
    const { token } = await registerUser(stack, 'cap-kill');
    const id = await topicPodcast(stack, token);
    await eventually(async () => ((await heldSlots(stack)) === 3 ? true : undefined), 60_000, 'all 3 slots held');
    first.kill('SIGKILL');
    const killedAt = Date.now();
    await eventually(async () => ((await heldSlots(stack)) === 0 ? true : undefined), 20_000, 'the slots to come back');
    assert.ok(Date.now() - killedAt < 10_000, `capacity came back within the heartbeat timeout (${Date.now() - killedAt} ms)`);
    await startWorkerProcess();
    assert.equal((await pollJob(stack, token, id, 120_000)).job.status, 'completed');
  });
});

describe('provider capacity shared fairly', function () {
  this.timeout(240_000);
  let stack: TestStack;
  let openai: FakeOpenAi;

  before(async () => {
    openai = await startFakeOpenAi({ latencyMs: 250 });
    openai.setChatHandler(() => ({ lines: lines(8) }));
    stack = await startTestStack({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, SYNTH_CONCURRENCY: '2', OPENAI_MAX_CONCURRENCY: '2' });
  });
  after(() => openai.close());

  it("finishes another user's first podcast before the last of one user's five, and the older job first", async () => {
    const a = await registerUser(stack, 'fair-a');
    await stack.knex('users').where({ id: a.user.id }).update({ quota_limit: 100_000 });
    const b = await registerUser(stack, 'fair-b');
    const mine: string[] = [];
    for (let i = 0; i < 5; i++) mine.push(await topicPodcast(stack, a.token));
    await eventually(
      async () => ((await stack.knex('podcast_segments').where({ podcast_id: mine[0] })).length > 0 ? true : undefined),
      30_000,
      'the first lines',
    );
    const theirs = await topicPodcast(stack, b.token);

    const done = async (token: string, id: string) => {
      const { job } = await pollJob(stack, token, id, 200_000);
      assert.equal(job.status, 'completed');
      return new Date(job.completedAt).getTime();
    };
    const [finishedA, finishedB] = await Promise.all([Promise.all(mine.map((id) => done(a.token, id))), done(b.token, theirs)]);
    assert.ok(finishedB < Math.max(...finishedA), "B's first podcast is not starved by A's five");
    // The older job goes first: A's podcasts finish one after another, not all at the end.
    assert.ok(finishedA[0]! < Math.max(...finishedA.slice(1)), `A's first podcast finishes before its later ones: ${finishedA.join(', ')}`);
  });

  it("shares the lane between users' current jobs: two users' first podcasts finish before another's second", async () => {
    const a = await registerUser(stack, 'share-a');
    const b = await registerUser(stack, 'share-b');
    const c = await registerUser(stack, 'share-c');
    const mine: string[] = [];
    for (let i = 0; i < 2; i++) mine.push(await topicPodcast(stack, a.token));
    const theirs = [
      { token: b.token, id: await topicPodcast(stack, b.token) },
      { token: c.token, id: await topicPodcast(stack, c.token) },
    ];
    const done = async (token: string, id: string) => {
      const { job } = await pollJob(stack, token, id, 200_000);
      assert.equal(job.status, 'completed');
      return new Date(job.completedAt).getTime();
    };
    const [[, secondOfA], others] = await Promise.all([Promise.all(mine.map((id) => done(a.token, id))), Promise.all(theirs.map((t) => done(t.token, t.id)))]);
    // A's second job is older than B's and C's first, but A was just served: B and C go first.
    for (const finished of others) assert.ok(finished < secondOfA!, `another user's first podcast finished after A's second (${finished} vs ${secondOfA})`);
  });

  it('shows each waiting job its place in the queue, and null once it runs', async () => {
    // The first two requests hang for a while: the first job holds both slots, the others queue.
    openai.faults.push({ path: SPEECH, delayMs: 6_000, times: 2 });
    const a = await registerUser(stack, 'queue-a');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await topicPodcast(stack, a.token));
    const positions = () => Promise.all(ids.map(async (id) => (await call(stack.url, 'GET', `/v1/podcasts/${id}/job`, { token: a.token })).body.queuePosition));
    const seen = await eventually(
      async () => {
        const p = await positions();
        return p[1] === 1 && p[2] === 2 ? p : undefined;
      },
      30_000,
      'the second and third jobs to wait in line',
    );
    assert.deepEqual(seen, [null, 1, 2], 'the running job has no place in the queue; the older waiting job is next');
    const podcast = await call(stack.url, 'GET', `/v1/podcasts/${ids[2]}`, { token: a.token });
    assert.ok([1, 2].includes(podcast.body.job.queuePosition), `the podcast's job view says the same: ${podcast.body.job.queuePosition}`);

    for (const id of ids) assert.equal((await pollJob(stack, a.token, id, 120_000)).job.status, 'completed');
    assert.deepEqual(await positions(), [null, null, null]);
  });
});

describe('one job alone', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let openai: FakeOpenAi;

  before(async () => {
    openai = await startFakeOpenAi({ latencyMs: 300 });
    openai.setChatHandler(() => ({ lines: lines(15) }));
    // No SYNTH_CONCURRENCY: nothing but the provider's lane limits the job.
    stack = await startTestStack({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, OPENAI_MAX_CONCURRENCY: '5' });
  });
  after(() => openai.close());

  it("may use its provider's whole capacity, and no more", async () => {
    const { token } = await registerUser(stack, 'alone');
    const id = await topicPodcast(stack, token);
    assert.equal((await pollJob(stack, token, id, 60_000)).job.status, 'completed');
    assert.equal(openai.count(SPEECH), 15);
    assert.equal(openai.maxSpeechInFlight(), 5, 'the lane of 5 was filled by the one job');
  });
});
