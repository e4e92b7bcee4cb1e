import assert from 'node:assert/strict';
import { createOpenAiScriptLlm, ScriptLlm } from '../../src/providers/llm/openaiChat';
import { ProviderError } from '../../src/providers/tts/types';
import { FakeOpenAi, rawChatReply, startFakeOpenAi } from '../fakes/openaiServer';
import { rejectsWith } from '../helpers/providerAssertions';

const KEY = 'sk-test-llm';
const CHAT_PATH = '/v1/chat/completions';

const scriptSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'lines'],
  properties: {
    title: { type: 'string' },
    lines: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['speaker', 'text'],
        properties: { speaker: { type: 'string', enum: ['A', 'B'] }, text: { type: 'string' } },
      },
    },
  },
};

describe('OpenAI script LLM (real SDK against a loopback fake)', () => {
  let fake: FakeOpenAi;
  let llm: ScriptLlm;
  const args = {
    system: 'You write two-person podcast scripts.',
    user: 'Write a short script about tea.',
    schemaName: 'podcast_script',
    jsonSchema: scriptSchema,
  };

  before(async () => {
    fake = await startFakeOpenAi({ apiKey: KEY });
    llm = createOpenAiScriptLlm({ apiKey: KEY, baseURL: fake.url, timeoutMs: 10_000 });
  });
  after(() => fake.close());
  beforeEach(() => {
    fake.reset();
    fake.setChatHandler(() => ({}));
  });

  it('round-trips strict JSON-schema output and reports token usage', async () => {
    const script = {
      title: 'All about tea',
      lines: [
        { speaker: 'A', text: 'Welcome! Today: tea. 今天我们聊茶。' },
        { speaker: 'B', text: 'Green, black, oolong — "quotes" and \\ backslashes too.' },
      ],
    };
    let seenBody: any;
    fake.setChatHandler((body) => {
      seenBody = body;
      return script;
    });
    const out = await llm.completeJson(args);
    assert.deepEqual(out.value, script);
    assert.ok(out.promptTokens > 0);
    assert.ok(out.completionTokens > 0);

    assert.equal(fake.count(CHAT_PATH), 1);
    assert.equal(seenBody.model, 'gpt-4o-mini');
    assert.deepEqual(seenBody.messages, [
      { role: 'system', content: args.system },
      { role: 'user', content: args.user },
    ]);
    assert.deepEqual(seenBody.response_format, {
      type: 'json_schema',
      json_schema: { name: 'podcast_script', schema: scriptSchema, strict: true },
    });
  });

  it('uses the configured model', async () => {
    const other = createOpenAiScriptLlm({ apiKey: KEY, baseURL: fake.url, model: 'gpt-4.1-mini' });
    fake.setChatHandler(() => ({ title: 't', lines: [] }));
    await other.completeJson(args);
    assert.equal(fake.requests[0]!.body.model, 'gpt-4.1-mini');
  });

  it('turns unparsable content into a retryable LLM_BAD_OUTPUT', async () => {
    fake.setChatHandler(() => rawChatReply({ content: '{"title": "unterminated' }));
    const e = await rejectsWith(llm.completeJson(args), { code: 'LLM_BAD_OUTPUT', retryable: true });
    assert.match(e.message, /not valid JSON/);
    assert.match(e.message, /unterminated/);
  });

  it('finds the JSON object in an answer wrapped in fences or prose', async () => {
    const script = { title: 'Tea {and} "braces"', lines: [{ speaker: 'A', text: 'A line with a } in it.' }] };
    for (const content of [
      `\`\`\`json\n${JSON.stringify(script, null, 2)}\n\`\`\``,
      `Sure {as JSON}! Here it is: ${JSON.stringify(script)} Anything else {you need}?`,
    ]) {
      fake.setChatHandler(() => rawChatReply({ content }));
      assert.deepEqual((await llm.completeJson(args)).value, script, content);
    }
  });

  it('treats truncated output as bad output and refusals as final', async () => {
    fake.setChatHandler(() => rawChatReply({ content: '{"title": "a', finishReason: 'length' }));
    const cut = await rejectsWith(llm.completeJson(args), { code: 'LLM_BAD_OUTPUT', retryable: true });
    assert.match(cut.message, /cut off/);
    // Not even an object inside it is taken for the answer.
    fake.setChatHandler(() =>
      rawChatReply({ content: '{"title": "a", "lines": [{"speaker": "A", "text": "Hi"}, {"speaker": "B", "te', finishReason: 'length' }),
    );
    await rejectsWith(llm.completeJson(args), { code: 'LLM_BAD_OUTPUT', retryable: true });
    // Some servers say `length` of an answer that is whole.
    fake.setChatHandler(() => rawChatReply({ content: '{"title": "a", "lines": []}', finishReason: 'length' }));
    assert.deepEqual((await llm.completeJson(args)).value, { title: 'a', lines: [] });

    fake.setChatHandler(() => rawChatReply({ content: null, refusal: "I can't help with that." }));
    await rejectsWith(llm.completeJson(args), { code: 'LLM_REFUSED', retryable: false });
  });

  it('maps 429 with Retry-After to a retryable rate limit without SDK retries', async () => {
    fake.faults.push({
      status: 429,
      headers: { 'retry-after': '2' },
      body: { error: { message: 'Rate limit reached for gpt-4o-mini', type: 'tokens', param: null, code: 'rate_limit_exceeded' } },
    });
    await rejectsWith(llm.completeJson(args), { code: 'LLM_RATE_LIMITED', retryable: true, retryAfterMs: 2000, status: 429 });
    assert.equal(fake.count(CHAT_PATH), 1);
  });

  it('maps 500s and 503s to retryable unavailable', async () => {
    fake.faults.push({ status: 503, body: { error: { message: 'overloaded', type: 'server_error', param: null, code: null } } });
    await rejectsWith(llm.completeJson(args), { code: 'LLM_PROVIDER_UNAVAILABLE', retryable: true, status: 503 });
    fake.faults.push({ status: 500, body: 'upstream exploded' });
    await rejectsWith(llm.completeJson(args), { code: 'LLM_PROVIDER_UNAVAILABLE', retryable: true, status: 500 });
    assert.equal(fake.count(CHAT_PATH), 2);
  });

  it('maps a wrong key to LLM_AUTH_FAILED', async () => {
    const bad = createOpenAiScriptLlm({ apiKey: 'sk-nope', baseURL: fake.url });
    await rejectsWith(bad.completeJson(args), { code: 'LLM_AUTH_FAILED', retryable: false, status: 401 });
  });

  it('maps a real 400 and 404 from the API to LLM_INVALID_REQUEST with the message', async () => {
    // Beyond the context window: OpenAI names `messages` as the fault, so no plainer response format is tried.
    const e400 = await rejectsWith(llm.completeJson({ ...args, user: 'tea '.repeat(150_000) }), {
      code: 'LLM_INVALID_REQUEST',
      retryable: false,
      status: 400,
    });
    assert.match(e400.message, /maximum context length/);
    assert.equal(fake.count(CHAT_PATH), 1);

    const unknown = createOpenAiScriptLlm({ apiKey: KEY, baseURL: fake.url, model: 'llama-nonexistent' });
    const e404 = await rejectsWith(unknown.completeJson(args), { code: 'LLM_INVALID_REQUEST', retryable: false, status: 404 });
    assert.match(e404.message, /does not exist/);
  });

  it('times out a stalled completion as retryable unavailable', async () => {
    const impatient = createOpenAiScriptLlm({ apiKey: KEY, baseURL: fake.url, timeoutMs: 300 });
    fake.faults.push({ delayMs: 5000 });
    await rejectsWith(impatient.completeJson(args), { code: 'LLM_PROVIDER_UNAVAILABLE', retryable: true });
  });

  it('aborts an in-flight slow completion promptly and rethrows the abort', async () => {
    fake.faults.push({ delayMs: 10_000 });
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 150);
    await assert.rejects(llm.completeJson({ ...args, signal: ac.signal }), (err: unknown) => {
      assert.ok(!(err instanceof ProviderError));
      assert.equal(err, ac.signal.reason);
      return true;
    });
    assert.ok(Date.now() - t0 < 1500, `took ${Date.now() - t0} ms`);

    // Already aborted: nothing is sent.
    fake.reset();
    await assert.rejects(llm.completeJson({ ...args, signal: AbortSignal.abort() }), { name: 'AbortError' });
    assert.equal(fake.count(CHAT_PATH), 0);
  });
});

describe('an OpenAI-compatible server that behaves like Ollama (real SDK against a loopback fake)', () => {
  let fake: FakeOpenAi;
  const args = { system: 'You write podcast scripts.', user: 'Write JSON about tea.', schemaName: 'podcast_script', jsonSchema: scriptSchema };
  const script = { title: 'Tea', lines: [{ speaker: 'A', text: 'Tea is a leaf.' }] };

  before(async () => {
    fake = await startFakeOpenAi({ like: 'ollama' });
    fake.setChatHandler(() => script);
  });
  after(() => fake.close());

  it('asks with json_object once json_schema is refused, from then on without the refusal, and reads the fenced answer', async () => {
    const llm = createOpenAiScriptLlm({ apiKey: 'ollama', baseURL: fake.url, model: 'llama3.2' });
    const out = await llm.completeJson(args);
    assert.deepEqual(out.value, script);
    assert.match(out.content, /```json/);
    assert.equal(out.promptTokens, 0, 'no usage reported');
    const [refused, plainer] = fake.requests;
    assert.equal(fake.requests.length, 2);
    assert.equal(refused!.body.response_format.type, 'json_schema');
    assert.deepEqual(plainer!.body.response_format, { type: 'json_object' });
    assert.match(plainer!.body.messages[0].content, /JSON Schema: \{"type":"object"/, 'the schema goes into the prompt');

    // The same server, later in the process (a new client, as each worker builds its own): no second refusal.
    fake.reset();
    const later = createOpenAiScriptLlm({ apiKey: 'ollama', baseURL: fake.url, model: 'llama3.2' });
    assert.deepEqual((await later.completeJson(args)).value, script);
    assert.deepEqual(
      fake.requests.map((r) => r.body.response_format),
      [{ type: 'json_object' }],
    );
  });
});
