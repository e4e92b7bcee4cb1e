import assert from 'node:assert/strict';
import { call, registerUser } from '../helpers/api';
import { pollJob } from '../helpers/generation';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openaiServer';

const SECTIONS = 12; // a two-hour target is outlined as 12 ten-minute sections
const LINES_PER_SECTION = 125; // 1,500 lines in all

describe('a two-hour script of 1,500 lines', function () {
  this.timeout(600_000);
  let stack: TestStack;
  let openai: FakeOpenAi;

  before(async () => {
    openai = await startFakeOpenAi();
    let section = 0;
    openai.setChatHandler((body) => {
      if (body.response_format?.json_schema?.name === 'podcast_outline') {
        return { sections: Array.from({ length: SECTIONS }, (_, i) => ({ title: `Part ${i + 1}`, points: ['a point'] })) };
      }
      const s = section++;
      // One conversation: a section begins with whoever did not end the one before (else the two turns are joined).
      return {
        lines: Array.from({ length: LINES_PER_SECTION }, (_, i) => ({ role: (s * LINES_PER_SECTION + i) % 2 ? 'guest' : 'host', text: `S${s}L${i} ok.` })),
      };
    });
    stack = await startTestStack({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, SYNTH_CONCURRENCY: '8' });
  });
  after(() => openai.close());

  it('completes in child workflows with no history anywhere near 10,000 events', async () => {
    const { token, user } = await registerUser(stack, 'two-hours');
    await stack.knex('users').where({ id: user.id }).update({ plan: 'team', quota_limit: 72_000 });
    const res = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: {
        sourceType: 'topic',
        sourceContent: 'Everything about durable execution',
        targetDuration: 7200,
        language: 'en-US',
        hostVoiceId: 'openai-alloy',
        guestVoiceId: 'openai-nova',
      },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const { job } = await pollJob(stack, token, res.body.podcast.id, 540_000);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.equal(openai.count('/v1/chat/completions'), 1 + SECTIONS, 'an outline, then one call per section');
    assert.equal(openai.count('/v1/audio/speech'), SECTIONS * LINES_PER_SECTION);

    const client = await stack.temporal.client();
    const parentId = `podcast-${res.body.podcast.id}`;
    const parent = await client.workflow.getHandle(parentId).fetchHistory();
    const sizes: Record<string, number> = { [parentId]: parent.events!.length };
    for (const e of parent.events!) {
      const started = e.childWorkflowExecutionStartedEventAttributes;
      if (!started) continue;
      const childId = started.workflowExecution!.workflowId!;
      sizes[childId] = (await client.workflow.getHandle(childId).fetchHistory()).events!.length;
    }
    assert.equal(Object.keys(sizes).length, 1 + Math.ceil((SECTIONS * LINES_PER_SECTION) / 200), 'one child per 200 lines');
    for (const [id, n] of Object.entries(sizes)) assert.ok(n < 10_000, `${id} has ${n} events`);

    // Children share the job's lines: SYNTH_CONCURRENCY (8) speaking, counted at the provider, and
    // at most 3 more waiting in the provider's lane with their claims made (ProviderLanes.concurrencyFor).
    assert.ok(openai.maxSpeechInFlight() <= 8, `${openai.maxSpeechInFlight()} lines were spoken at once`);
    const spans: Array<[number, number]> = [];
    for (const id of Object.keys(sizes).filter((k) => k !== parentId)) {
      const started = new Map<string, number>();
      for (const e of (await client.workflow.getHandle(id).fetchHistory()).events!) {
        const at = Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);
        if (e.activityTaskStartedEventAttributes) started.set(String(e.activityTaskStartedEventAttributes.scheduledEventId), at);
        const done = e.activityTaskCompletedEventAttributes;
        if (done) spans.push([started.get(String(done.scheduledEventId))!, at]);
      }
    }
    const edges = spans
      .flatMap(
        ([s, e]) =>
          [
            [s, 1],
            [e, -1],
          ] as const,
      )
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let inFlight = 0;
    let peak = 0;
    for (const [, d] of edges) peak = Math.max(peak, (inFlight += d));
    assert.equal(spans.length, SECTIONS * LINES_PER_SECTION);
    assert.ok(peak <= 8 + 3, `${peak} lines were in flight at once`);
    assert.ok(Math.max(...Object.values(sizes)) < 2_000, JSON.stringify(sizes));

    const podcast = await stack.knex('podcasts').where({ id: res.body.podcast.id }).first();
    assert.ok(podcast);
    assert.equal(podcast.script!.length, SECTIONS * LINES_PER_SECTION);
    assert.equal((await stack.knex('usage_logs').where({ podcast_id: podcast.id })).length, 1);
  });
});
