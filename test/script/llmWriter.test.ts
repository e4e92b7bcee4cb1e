import assert from 'node:assert/strict';
import { createOpenAiScriptLlm, type ScriptLlm } from '../../src/providers/llm/openaiChat';
import { MAX_LINE_CHARS, speakableLines, writeLlmScript, type ScriptRequest } from '../../src/script/llmWriter';
import { type FakeOpenAi, rawChatReply, startFakeOpenAi } from '../fakes/openaiServer';
import { rejectsWith } from '../helpers/providerAssertions';

const CHAT = '/v1/chat/completions';
const REQUEST: ScriptRequest = { title: null, sourceType: 'topic', sourceText: 'Tea', language: 'en-US', style: 'casual', targetDurationSec: 120 };
const ZH: ScriptRequest = { ...REQUEST, language: 'zh-CN' };
const GOOD_ZH = {
  lines: [
    { role: 'host', text: '欢迎收听本期节目，今天我们聊聊茶。' },
    // An English name quoted in a Chinese line is still Chinese.
    { role: 'guest', text: '谢谢邀请。我平时用 Kubernetes 和 PostgreSQL，喝的是乌龙茶。' },
  ],
};
const GOOD = {
  lines: [
    { role: 'host', text: 'Welcome to a show about tea.' },
    { role: 'guest', text: 'Thanks for having me.' },
  ],
};

/** Script writing with any OpenAI-compatible server: the real SDK against a fake on loopback. */
describe('LLM scripts that hold', () => {
  let fake: FakeOpenAi;
  let llm: ScriptLlm;

  before(async () => {
    fake = await startFakeOpenAi({ apiKey: 'sk-writer' });
    llm = createOpenAiScriptLlm({ apiKey: 'sk-writer', baseURL: fake.url, timeoutMs: 10_000 });
  });
  after(() => fake.close());
  beforeEach(() => fake.reset());

  const chats = () => fake.requests.filter((r) => r.path === CHAT).map((r) => r.body.messages as Array<{ role: string; content: string }>);

  it('repairs an answer that is not JSON with one more call, showing the model its answer and the problem', async () => {
    let n = 0;
    fake.setChatHandler(() => (n++ === 0 ? rawChatReply({ content: '{"lines": [ {"role": "host", "text": "Welcome' }) : GOOD));
    const lines = await writeLlmScript(llm, REQUEST);
    assert.deepEqual(lines, GOOD.lines);
    const [first, second] = chats();
    assert.equal(chats().length, 2);
    assert.equal(first!.length, 2, 'system and user');
    assert.equal(second![2]!.role, 'assistant');
    assert.equal(second![2]!.content, '{"lines": [ {"role": "host", "text": "Welcome');
    assert.match(second![3]!.content, /cannot be used: it is not valid JSON/);
  });

  it('repairs JSON that does not follow the schema, naming the field', async () => {
    let n = 0;
    fake.setChatHandler(() => (n++ === 0 ? { lines: [{ role: 'narrator', text: 'Once upon a time.' }] } : GOOD));
    assert.deepEqual(await writeLlmScript(llm, REQUEST), GOOD.lines);
    assert.equal(chats().length, 2);
    assert.match(chats()[1]![3]!.content, /does not follow the schema \(lines\.0\.role/);
  });

  it('fails the attempt, retryable, when the repair is no better', async () => {
    fake.setChatHandler(() => rawChatReply({ content: 'Sorry, here is your podcast!' }));
    await rejectsWith(writeLlmScript(llm, REQUEST), { code: 'LLM_BAD_OUTPUT', retryable: true });
    assert.equal(chats().length, 2, 'one answer and one repair, no more');
  });

  it('makes turns alternate and cuts long turns at sentence ends', () => {
    const long = Array.from({ length: 40 }, (_, i) => `Sentence ${i + 1} of a long turn.`).join(' ');
    const lines = speakableLines(
      [
        { role: 'host', text: 'Hello.' },
        { role: 'host', text: '  And welcome.  ' },
        { role: 'guest', text: long },
        { role: 'host', text: 'Thank you.' },
      ],
      'en-US',
    );
    assert.deepEqual(lines[0], { role: 'host', text: 'Hello. And welcome.' });
    const guest = lines.filter((l) => l.role === 'guest');
    assert.ok(guest.length >= 2, 'the long turn was cut');
    for (const l of guest) {
      assert.ok(l.text.length <= MAX_LINE_CHARS);
      assert.match(l.text, /\.$/, 'at a sentence end');
    }
    assert.equal(guest.map((l) => l.text).join(' '), long, 'nothing lost');
    assert.deepEqual(lines[lines.length - 1], { role: 'host', text: 'Thank you.' });
  });

  it('asks again, once, when the lines are not in the podcast’s language, and takes the answer in it', async () => {
    let n = 0;
    fake.setChatHandler(() => (n++ === 0 ? GOOD : GOOD_ZH));
    assert.deepEqual(await writeLlmScript(llm, ZH), GOOD_ZH.lines);
    assert.equal(chats().length, 2);
    assert.match(chats()[0]![0]!.content, /podcast in Simplified Chinese/);
    assert.match(chats()[1]![3]!.content, /not in Simplified Chinese \(most of their words are in Latin script\); every line must be in Simplified Chinese/);

    // And the other way round.
    fake.reset();
    n = 0;
    fake.setChatHandler(() => (n++ === 0 ? GOOD_ZH : GOOD));
    assert.deepEqual(await writeLlmScript(llm, REQUEST), GOOD.lines);
    assert.match(chats()[1]![3]!.content, /not in American English \(most of their words are in Chinese characters\)/);
  });

  it('takes a Chinese script that quotes English at once', async () => {
    fake.setChatHandler(() => GOOD_ZH);
    assert.deepEqual(await writeLlmScript(llm, ZH), GOOD_ZH.lines);
    assert.equal(chats().length, 1);
  });

  it('fails for good with LLM_WRONG_LANGUAGE when the repair is in the wrong language too', async () => {
    fake.setChatHandler(() => GOOD);
    const e = await rejectsWith(writeLlmScript(llm, ZH), { code: 'LLM_WRONG_LANGUAGE', retryable: false });
    assert.match(e.message, /Simplified Chinese/);
    assert.equal(chats().length, 2, 'one answer and one repair, no more');
  });

  it('asks again when only one of the two speaks', async () => {
    let n = 0;
    fake.setChatHandler(() =>
      n++ === 0
        ? {
            lines: [
              { role: 'host', text: 'Welcome.' },
              { role: 'host', text: 'Tea is a leaf.' },
            ],
          }
        : GOOD,
    );
    assert.deepEqual(await writeLlmScript(llm, REQUEST), GOOD.lines);
    assert.match(chats()[1]![3]!.content, /the guest never speaks/);
  });

  it('lets the host open: a script that starts with the guest has the roles the other way round', async () => {
    fake.setChatHandler(() => ({
      lines: [
        { role: 'guest', text: 'Welcome to a show about tea.' },
        { role: 'host', text: 'Thanks for having me.' },
        { role: 'guest', text: 'Goodbye.' },
      ],
    }));
    assert.deepEqual(await writeLlmScript(llm, REQUEST), [
      { role: 'host', text: 'Welcome to a show about tea.' },
      { role: 'guest', text: 'Thanks for having me.' },
      { role: 'host', text: 'Goodbye.' },
    ]);
  });

  it('keeps turns alternating where one section ends with the speaker the next begins with', async () => {
    const sections: Record<string, Array<{ role: string; text: string }>> = {
      1: [
        { role: 'host', text: 'Welcome.' },
        { role: 'guest', text: 'One.' },
      ],
      2: [
        { role: 'guest', text: 'Two.' },
        { role: 'host', text: 'Three?' },
      ],
      3: [
        { role: 'host', text: 'Four?' },
        { role: 'guest', text: 'Five.' },
        { role: 'host', text: 'Goodbye.' },
      ],
    };
    fake.setChatHandler((body) => {
      if (body.response_format?.json_schema?.name === 'podcast_outline') return { sections: [1, 2, 3].map((i) => ({ title: `Part ${i}`, points: ['tea'] })) };
      return { lines: sections[/Section (\d) of 3/.exec(body.messages[1].content)![1]!] };
    });
    const lines = await writeLlmScript(llm, { ...REQUEST, targetDurationSec: 1800 });
    assert.equal(chats().length, 4, 'an outline and three sections');
    // Each section's first line opens its chapter, joined turns included.
    assert.deepEqual(lines, [
      { role: 'host', text: 'Welcome.', section: 'Part 1' },
      { role: 'guest', text: 'One. Two.', section: 'Part 2' },
      { role: 'host', text: 'Three? Four?', section: 'Part 3' },
      { role: 'guest', text: 'Five.' },
      { role: 'host', text: 'Goodbye.' },
    ]);
  });
});
