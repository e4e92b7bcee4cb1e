import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { trace } from '@opentelemetry/api';
import { call, registerUser } from '../helpers/api';
import { pollJob } from '../helpers/generation';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startWorkerProcess } from '../helpers/workerProcess';
import { startOtlpReceiver, type ExportedSpan } from '../helpers/otlpReceiver';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openaiServer';
import { loadConfig } from '../../src/config';
import { podcastWorkflowId } from '../../src/temporal/jobs';
import { startTracing, type Tracing } from '../../src/tracing';

const LINES = Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? 'guest' : 'host', text: `Observability line ${i + 1}: nothing secret here.` }));

const attr = (span: ExportedSpan, key: string) => {
  const v = span.attributes.find((a) => a.key === key)?.value;
  return v === undefined ? undefined : (v.stringValue ?? v.intValue ?? v.boolValue);
};

async function titledPodcast(stack: TestStack, token: string, title: string) {
  const r = await call(stack.url, 'POST', '/v1/podcasts', {
    token,
    body: {
      title,
      sourceType: 'topic',
      sourceContent: 'Tracing',
      targetDuration: 60,
      language: 'en-US',
      hostVoiceId: 'openai-alloy',
      guestVoiceId: 'openai-nova',
    },
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const podcastId = r.body.podcast.id as string;
  const { job } = await pollJob(stack, token, podcastId);
  assert.equal(job.status, 'completed', JSON.stringify(job));
  return podcastId;
}

describe('observability: activity summaries in the Temporal UI, OpenTelemetry traces over OTLP', function () {
  this.timeout(180_000);
  let openai: FakeOpenAi;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let tracing: Tracing | null = null;
  let worker: ChildProcess | null = null;

  before(async () => {
    openai = await startFakeOpenAi();
    openai.setChatHandler(() => ({ lines: LINES }));
    receiver = await startOtlpReceiver();
  });
  after(async () => {
    if (worker?.exitCode === null) worker.kill('SIGKILL');
    await tracing?.shutdown();
    await openai.close();
    await receiver.close();
  });

  it('without OTEL_EXPORTER_OTLP_ENDPOINT traces nothing; the run shows its title and a summary on every step', async () => {
    // Lines 1–10 and 11–12 are spoken in two child workflows, each knowing only its own lines.
    const stack = await startTestStack({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, LINES_PER_CHILD_WORKFLOW: '10' });
    assert.equal(stack.config.OTEL_EXPORTER_OTLP_ENDPOINT, undefined);
    assert.equal(startTracing(stack.config, 'aimake-api'), null, 'no SDK is started');
    const { token } = await registerUser(stack, 'summaries');
    const podcastId = await titledPodcast(stack, token, 'Summaries in the UI');

    const handle = (await stack.temporal.client()).workflow.getHandle(podcastWorkflowId(podcastId));
    assert.equal(await (await handle.describe()).staticSummary(), 'Summaries in the UI');
    const history = await handle.fetchHistory();
    const children = (history.events ?? []).flatMap((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? []);
    assert.equal(children.length, 2);
    const client = await stack.temporal.client();
    const events = [...(history.events ?? [])];
    for (const id of children) events.push(...((await client.workflow.getHandle(id).fetchHistory()).events ?? []));
    const summaries = new Map<string, string[]>();
    for (const e of events) {
      const a = e.activityTaskScheduledEventAttributes;
      if (!a) continue;
      assert.equal(a.header?.fields?.['_tracer-data'], undefined, 'no trace context travels with an untraced run');
      const s = e.userMetadata?.summary?.data;
      const list = summaries.get(a.activityType!.name!) ?? [];
      if (s) list.push(JSON.parse(Buffer.from(s).toString('utf8')));
      summaries.set(a.activityType!.name!, list);
    }
    assert.deepEqual(summaries.get('analyzePodcastSource'), ['read source']);
    assert.deepEqual(summaries.get('writePodcastScript'), ['write script']);
    assert.deepEqual(
      [...summaries.get('synthesizePodcastLine')!].sort(),
      LINES.map((l, i) => `line ${i + 1}/12 · ${l.role} · "Observability line ${i + 1}: nothing…"`).sort(),
    );
    assert.deepEqual(summaries.get('stitchPodcast'), ['stitch 12 lines']);
    assert.equal(trace.getTracer('probe').startSpan('probe').isRecording(), false, 'no tracer provider is registered');
    assert.deepEqual(receiver.posts, [], 'nothing was exported');
  });

  it('with OTEL_EXPORTER_OTLP_ENDPOINT, one podcast is one trace: API request, workflow, activities, provider calls', async () => {
    const env = { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    // What src/bin/api.ts and src/bin/worker.ts do first; here one process is both.
    tracing = startTracing(loadConfig({ ...process.env, ...env }), 'aimake-api');
    assert.ok(tracing);
    const stack = await startTestStack(env, { tracing });
    const { token } = await registerUser(stack, 'traced');
    await titledPodcast(stack, token, 'Traced');

    const request = await eventually(
      async () => {
        await tracing!.processor.forceFlush();
        const create = receiver.spans.find(
          (s) => s.name === 'POST /v1/podcasts' && receiver.spans.some((w) => w.traceId === s.traceId && w.name === 'RunActivity:stitchPodcast'),
        );
        return create && receiver.spans.some((w) => w.traceId === create.traceId && w.name === 'RunWorkflow:podcastWorkflow') ? create : undefined;
      },
      30_000,
      'the podcast trace',
    );
    const inTrace = receiver.spans.filter((s) => s.traceId === request.traceId);
    const names = new Set(inTrace.map((s) => s.name));
    for (const name of [
      'StartWorkflow:podcastWorkflow',
      'RunWorkflow:podcastWorkflow',
      'StartActivity:writePodcastScript',
      'RunActivity:writePodcastScript',
      'llm openai',
      'RunActivity:synthesizePodcastLine',
      'tts openai',
      'RunActivity:stitchPodcast',
    ])
      assert.ok(names.has(name), `${name} in the trace: ${[...names].join(', ')}`);
    assert.equal(request.parentSpanId || undefined, undefined, 'the API request is the root');
    assert.ok(inTrace.every((s) => s.service === 'aimake-api'));
    assert.equal(attr(request, 'http.response.status_code'), 202);

    const speech = inTrace.filter((s) => s.name === 'tts openai');
    assert.equal(speech.length, LINES.length);
    assert.deepEqual([...new Set(speech.map((s) => attr(s, 'aimake.voice')))].sort(), ['alloy', 'nova']);
    for (const s of speech) {
      assert.equal(attr(s, 'aimake.provider'), 'openai');
      assert.ok(Number(attr(s, 'aimake.characters')) > 0);
      // Metadata only: no line's words and no key leave the process.
      const dump = JSON.stringify(s.attributes);
      assert.ok(!dump.includes('Observability line') && !dump.includes('sk-test'), dump);
    }
    // Each line's span hangs below that line's activity span.
    const lineActivities = new Set(inTrace.filter((s) => s.name === 'RunActivity:synthesizePodcastLine').map((s) => s.spanId));
    assert.ok(speech.every((s) => lineActivities.has(s.parentSpanId!)));
  });

  it('across processes: the worker process (its own bundle, its own service name) continues the API’s trace', async () => {
    assert.ok(tracing, 'runs after the traced test, in the same process-wide tracing');
    const env = { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    const stack = await startTestStack(env, { worker: false, tracing });
    worker = await startWorkerProcess(stack, env, { untilRunning: true });
    const { token } = await registerUser(stack, 'two-processes');
    await titledPodcast(stack, token, 'Two processes');

    // The worker exports every second; the API's spans are flushed here.
    const trace = await eventually(
      async () => {
        await tracing!.processor.forceFlush();
        const runs = receiver.spans.filter((s) => s.name === 'RunActivity:stitchPodcast' && s.service === 'aimake-worker');
        const root = receiver.spans.find((s) => s.name === 'POST /v1/podcasts' && runs.some((r) => r.traceId === s.traceId));
        return root && receiver.spans.filter((s) => s.traceId === root.traceId);
      },
      30_000,
      'the worker’s spans in the API’s trace',
    );
    const by = (service: string) => new Set(trace.filter((s) => s.service === service).map((s) => s.name));
    assert.ok(by('aimake-api').has('StartWorkflow:podcastWorkflow'));
    for (const name of ['RunWorkflow:podcastWorkflow', 'RunActivity:synthesizePodcastLine', 'tts openai', 'llm openai'])
      assert.ok(by('aimake-worker').has(name), name);
  });
});
