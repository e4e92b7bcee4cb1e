import assert from 'node:assert/strict';
import { call, registerUser } from '../helpers/api';
import { pollJob } from '../helpers/generation';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openaiServer';

const CHAT = '/v1/chat/completions';
const ENGLISH = {
  lines: [
    { role: 'host', text: 'Welcome to a show about tea, written by a local model.' },
    { role: 'guest', text: 'Thanks. Green tea and black tea come from the same plant.' },
    { role: 'host', text: 'So what makes them different?' },
    { role: 'guest', text: 'How long the leaves are left to oxidise.' },
  ],
};
const CHINESE = {
  lines: [
    { role: 'host', text: '欢迎收听本期节目，今天我们聊聊茶。' },
    { role: 'guest', text: '谢谢邀请。绿茶和红茶其实来自同一种植物。' },
    { role: 'host', text: '那它们有什么不同呢？' },
    { role: 'guest', text: '区别在于茶叶氧化的时间长短。' },
  ],
};

/**
 * The LLM script writer against an OpenAI-compatible server that is not OpenAI: OPENAI_BASE_URL
 * points at a fake that answers like Ollama (refuses the json_schema response format, wraps its
 * JSON in a fence and prose, reports no usage). Voices are espeak-ng's, as with a local model.
 */
describe('podcasts written by an Ollama-like server', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let ollama: FakeOpenAi;

  before(async () => {
    ollama = await startFakeOpenAi({ like: 'ollama' });
    stack = await startTestStack({ OPENAI_API_KEY: 'ollama', OPENAI_BASE_URL: ollama.url, OPENAI_CHAT_MODEL: 'llama3.2' });
  });
  after(() => ollama.close());
  beforeEach(() => ollama.reset());

  const chats = () => ollama.requests.filter((r) => r.path === CHAT).map((r) => r.body);
  const create = async (token: string, language: 'en-US' | 'zh-CN') => {
    const voices = language === 'en-US' ? ['local-en-female', 'local-en-male'] : ['local-zh-female', 'local-zh-male'];
    const r = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: { sourceType: 'topic', sourceContent: 'Tea', targetDuration: 60, language, hostVoiceId: voices[0], guestVoiceId: voices[1] },
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body.podcast.id as string;
  };
  const scriptOf = async (token: string, id: string) =>
    (await call(stack.url, 'GET', `/v1/podcasts/${id}`, { token })).body.script.map((l: { role: string; text: string }) => ({ role: l.role, text: l.text }));

  it('completes with the lines of its fenced answers, after asking once more with a plainer response format', async () => {
    ollama.setChatHandler(() => ENGLISH);
    const { token } = await registerUser(stack, 'ollama-en');
    const id = await create(token, 'en-US');
    const { job } = await pollJob(stack, token, id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.deepEqual(await scriptOf(token, id), ENGLISH.lines);
    assert.deepEqual(
      chats().map((b) => [b.model, b.response_format?.type]),
      [
        ['llama3.2', 'json_schema'],
        ['llama3.2', 'json_object'],
      ],
      'refused once, then asked for a JSON object',
    );

    // The worker remembers: the next podcast's script is asked for without the refusal.
    ollama.reset();
    const next = await create(token, 'en-US');
    assert.equal((await pollJob(stack, token, next)).job.status, 'completed');
    assert.deepEqual(
      chats().map((b) => b.response_format?.type),
      ['json_object'],
    );
  });

  it('asks a model that answered in English for Chinese once, and speaks its Chinese lines', async () => {
    let n = 0;
    ollama.setChatHandler(() => (n++ === 0 ? ENGLISH : CHINESE));
    const { token } = await registerUser(stack, 'ollama-zh');
    const id = await create(token, 'zh-CN');
    const { job } = await pollJob(stack, token, id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.deepEqual(await scriptOf(token, id), CHINESE.lines);
    const repair = chats().at(-1)!.messages;
    assert.equal(chats().filter((b) => b.response_format?.type !== 'json_schema').length, 2, 'the answer and one repair');
    assert.match(repair[repair.length - 1].content, /must be in Simplified Chinese/);
  });

  it('fails a podcast whose model keeps to the wrong language with LLM_WRONG_LANGUAGE, charging nothing', async () => {
    ollama.setChatHandler(() => ENGLISH);
    const { token, user } = await registerUser(stack, 'ollama-wrong');
    const id = await create(token, 'zh-CN');
    const { job } = await pollJob(stack, token, id);
    assert.equal(job.status, 'failed');
    assert.equal(job.errorCode, 'LLM_WRONG_LANGUAGE');
    assert.match(job.errorMessage, /Simplified Chinese/);
    assert.equal(chats().filter((b) => b.response_format?.type !== 'json_schema').length, 2, 'the answer and one repair; the attempt is not retried');
    assert.equal((await call(stack.url, 'GET', `/v1/podcasts/${id}`, { token })).body.status, 'failed');
    assert.equal((await stack.knex('podcast_segments').where({ podcast_id: id })).length, 0, 'nothing was spoken');
    const u = await stack.knex('users').where({ id: user.id }).first();
    assert.ok(u);
    assert.equal(u.quota_used, 0);
    assert.equal(u.quota_reserved, 0, 'the reservation is released');
    assert.equal((await stack.knex('usage_logs').where({ user_id: user.id })).length, 0);
  });
});
