import assert from 'node:assert/strict';
import { call, registerUser } from '../helpers/api';
import { pollJob, startTopicPodcast as topicPodcast } from '../helpers/generation';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openaiServer';

const SPEECH = '/v1/audio/speech';
const STALL_MS = 60_000;

/** Lines, bookkeeping and scripts wait in separate task queues (workflows/taskQueues.ts). */
describe('work lanes', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let openai: FakeOpenAi;

  before(async () => {
    openai = await startFakeOpenAi({ latencyMs: 100 });
    openai.setChatHandler(() => ({
      lines: Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? 'guest' : 'host', text: `Line ${i + 1}, queued behind a busy provider.` })),
    }));
    // Two line slots for the whole worker: a job speaking eight lines at once fills them and queues six.
    stack = await startTestStack({
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: openai.url,
      SYNTH_CONCURRENCY: '8',
      WORKER_MAX_LINE_ACTIVITIES: '2',
      WORKER_MAX_ACTIVITIES: '2',
    });
  });
  after(() => openai.close());

  const stalledSpeech = () => openai.requests.filter((r) => r.path === SPEECH && r.finishedAt === undefined).length;

  it("records another job's stages and a cancel while every line slot is taken and lines are queued", async () => {
    // The first two speech requests hang: job A holds both line slots with six more lines queued.
    openai.faults.push({ path: SPEECH, delayMs: STALL_MS, times: 2 });
    const a = await registerUser(stack, 'lanes-a');
    const b = await registerUser(stack, 'lanes-b');
    const busy = await topicPodcast(stack, a.token, 'Busy');
    await eventually(async () => (stalledSpeech() === 2 ? true : undefined), 30_000, 'both line slots to be held');
    const stalledSince = Date.now();

    // Job B reads its source, writes its script and records its stages although no line can start.
    const other = await topicPodcast(stack, b.token, 'Other');
    await eventually(
      async () => {
        const r = await call(stack.url, 'GET', `/v1/podcasts/${other}/job`, { token: b.token });
        return r.body.status === 'synthesizing' ? true : undefined;
      },
      30_000,
      "the other job's scripting and stage bookkeeping",
    );
    assert.equal(stalledSpeech(), 2, 'the line slots were still held by the stalled lines');
    assert.equal(openai.count('/v1/chat/completions'), 2, "both jobs' scripts were written");

    // Cancelling A stops its lines and records the cancel long before the stalled requests would end.
    const cancel = await call(stack.url, 'POST', `/v1/podcasts/${busy}/cancel`, { token: a.token });
    assert.equal(cancel.status, 202, JSON.stringify(cancel.body));
    const cancelledAt = Date.now();
    const { job: canceled } = await pollJob(stack, a.token, busy, 30_000);
    assert.equal(canceled.status, 'canceled');
    // A cancel reaches a speaking line with its next heartbeat (at most a second apart); 10 s is slack for a busy machine.
    assert.ok(Date.now() - cancelledAt < 10_000, `the cancel was recorded ${Date.now() - cancelledAt} ms after the request`);
    assert.ok(Date.now() - stalledSince < STALL_MS, 'the cancel did not wait for the stalled requests');

    const { job } = await pollJob(stack, b.token, other, 60_000);
    assert.equal(job.status, 'completed', JSON.stringify(job));
  });
});
