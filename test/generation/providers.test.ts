import assert from 'node:assert/strict';
import { call, registerUser } from '../helpers/api';
import { pollJob } from '../helpers/generation';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startFakeElevenLabs } from '../fakes/elevenlabsServer';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openaiServer';

const SCRIPT = {
  lines: [
    { role: 'host', text: 'Welcome to the show about durable audio.' },
    { role: 'guest', text: 'Thanks, glad to be here.' },
    { role: 'host', text: 'Why do long jobs need workflows?' },
    { role: 'guest', text: 'Because servers crash, and finished work must not be lost.' },
  ],
};

describe('podcasts through the OpenAI and ElevenLabs SDKs, against fake providers', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let openai: FakeOpenAi;
  let eleven: Awaited<ReturnType<typeof startFakeElevenLabs>>;

  before(async () => {
    openai = await startFakeOpenAi();
    eleven = await startFakeElevenLabs({ voices: ['21m00Tcm4TlvDq8ikWAM', 'pNInz6obpgDQGcFmaJgB'] });
    openai.setChatHandler(() => SCRIPT);
    stack = await startTestStack({
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: openai.url,
      ELEVENLABS_API_KEY: 'xi-test',
      ELEVENLABS_BASE_URL: eleven.url,
    });
  });
  after(async () => {
    await openai.close();
    await eleven.close();
  });
  beforeEach(() => {
    openai.reset();
    eleven.reset();
    openai.setChatHandler(() => SCRIPT);
  });

  const create = (token: string, body: Record<string, unknown>) =>
    call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: { sourceType: 'topic', sourceContent: 'Durable audio generation', targetDuration: 60, language: 'en-US', ...body },
    });

  it('writes the script with the LLM and completes after a 429 with Retry-After', async () => {
    const { token, user } = await registerUser(stack, 'openai-429');
    openai.faults.push({
      path: '/v1/audio/speech',
      status: 429,
      headers: { 'retry-after': '1' },
      body: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } },
    });
    const res = await create(token, { hostVoiceId: 'openai-alloy', guestVoiceId: 'openai-nova' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const { job } = await pollJob(stack, token, res.body.podcast.id);
    assert.equal(job.status, 'completed', JSON.stringify(job));

    assert.equal(openai.count('/v1/chat/completions'), 1);
    assert.equal(openai.count('/v1/audio/speech'), SCRIPT.lines.length + 1, 'each line once, plus the one refused with 429');
    const voices = openai.requests.filter((r) => r.path === '/v1/audio/speech').map((r) => r.body.voice);
    assert.deepEqual([...new Set(voices)].sort(), ['alloy', 'nova']);

    const podcast = (await call(stack.url, 'GET', `/v1/podcasts/${res.body.podcast.id}`, { token })).body;
    assert.deepEqual(
      podcast.script.map((l: { text: string }) => l.text),
      SCRIPT.lines.map((l) => l.text),
    );
    assert.equal(podcast.ttsProvider, 'openai');
    const [usage] = await stack.knex('usage_logs').where({ podcast_id: podcast.id });
    assert.ok(usage);
    assert.equal(usage.provider, 'openai');
    assert.ok(usage.api_cost! > 0, 'the provider cost is tracked');
    const u = await stack.knex('users').where({ id: user.id }).first();
    assert.ok(u);
    assert.equal(u.quota_used, Math.ceil(podcast.duration));
  });

  it('fails the job at once with a clear code on a 400, and charges nothing', async () => {
    const { token, user } = await registerUser(stack, 'openai-400');
    openai.faults.push({
      path: '/v1/audio/speech',
      status: 400,
      body: { error: { message: 'Input contains unsupported content', type: 'invalid_request_error', code: null } },
      times: 10,
    });
    const res = await create(token, { hostVoiceId: 'openai-echo', guestVoiceId: 'openai-shimmer' });
    const { job } = await pollJob(stack, token, res.body.podcast.id);
    assert.equal(job.status, 'failed');
    assert.equal(job.errorCode, 'TTS_INVALID_REQUEST');
    assert.match(job.errorMessage, /unsupported content/);
    assert.ok(openai.count('/v1/audio/speech') <= 4, 'not retried: at most one attempt per line in flight');
    const podcast = (await call(stack.url, 'GET', `/v1/podcasts/${res.body.podcast.id}`, { token })).body;
    assert.equal(podcast.status, 'failed');
    const u = await stack.knex('users').where({ id: user.id }).first();
    assert.ok(u);
    assert.equal(u.quota_used, 0);
    assert.equal(u.quota_reserved, 0, 'the reservation is released');
    assert.equal((await stack.knex('usage_logs').where({ user_id: user.id })).length, 0);
  });

  it('speaks premium ElevenLabs voices for a pro user, and refuses them on the free plan', async () => {
    const free = await registerUser(stack, 'eleven-free');
    const refused = await create(free.token, { hostVoiceId: 'eleven-rachel', guestVoiceId: 'eleven-adam' });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'FORBIDDEN');

    const pro = await registerUser(stack, 'eleven-pro');
    await stack.knex('users').where({ id: pro.user.id }).update({ plan: 'pro', quota_limit: 18000 });
    eleven.faults.push({ status: 429, headers: { 'retry-after': '1' }, body: { detail: { status: 'system_busy', message: 'busy' } } });
    const res = await create(pro.token, { hostVoiceId: 'eleven-rachel', guestVoiceId: 'eleven-adam' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const { job } = await pollJob(stack, pro.token, res.body.podcast.id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.equal(eleven.requests.filter((r) => r.path.startsWith('/v1/text-to-speech/')).length, SCRIPT.lines.length + 1);
    const [usage] = await stack.knex('usage_logs').where({ podcast_id: res.body.podcast.id });
    assert.ok(usage);
    assert.equal(usage.provider, 'elevenlabs');
  });
});
