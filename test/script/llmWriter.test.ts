import assert from 'node:assert/strict';
import { createOpenAiScriptLlm, type ScriptLlm } from '../../src/providers/llm/openaiChat';
import { MAX_LINE_CHARS, speakableLines, writeLlmScript, type ScriptRequest } from '../../src/script/llmWriter';
import { type FakeOpenAi, rawChatReply, startFakeOpenAi } from '../fakes/openaiServer';
import { rejectsWith } from '../helpers/providerAssertions';

const CHAT = '/v1/chat/completions';
const REQUEST: ScriptRequest = { title: null, sourceType: 'topic', sourceText: 'Tea', language: 'en-US', style: 'casual', targetDurationSec: 120 };
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
});
