import assert from 'node:assert/strict';
import { estimateScriptSeconds, framingLines, MAX_TURN_CHARS, writeLocalScript, type LocalScriptInput, type ScriptLine } from '../../src/script/localWriter';
import { normaliseText, splitSentences } from '../../src/sources/text';

const HOST = 'voice-host-1';
const GUEST = 'voice-guest-2';

const EN_PARAGRAPHS = [
  'Podcasts began as a niche hobby.   Early shows were recorded in bedrooms with cheap microphones. Listeners found them through word of mouth.',
  'Then smartphones changed everything. Mr. Jobs put a podcast app on every iPhone, e.g. the one in your pocket. Suddenly millions of people could subscribe with a single tap.',
  'Advertisers followed the audience. By 2020 the industry earned more than $800 million a year in the U.S. alone. Networks bought independent shows and signed exclusive deals.',
  'Today the challenge is discovery. There are millions of shows, and most get only a handful of plays. Good metadata and clear titles matter more than ever.',
];
const EN_SOURCE = EN_PARAGRAPHS.join('\r\n\r\n\r\n');

const ZH_SOURCE = [
  '人工智能正在改变内容创作的方式。过去需要一个团队几天才能完成的节目，现在几分钟就能生成！这是真的吗？',
  '当然，技术也带来了新的问题。如何保证内容准确？如何尊重原作者的版权？',
  '这些问题需要整个行业一起思考。我们不能把一切都交给算法。',
].join('\n\n');

function input(overrides: Partial<LocalScriptInput> = {}): LocalScriptInput {
  return {
    title: 'The Rise of Podcasts',
    text: EN_SOURCE,
    language: 'en-US',
    targetDurationSec: 600,
    hostVoiceId: HOST,
    guestVoiceId: GUEST,
    ...overrides,
  };
}

function contentLines(lines: ScriptLine[], language: string, title?: string | null, style?: LocalScriptInput['style']): ScriptLine[] {
  const { opening, closing } = framingLines(language, title, style);
  assert.equal(lines[0]!.text, opening, 'the script opens with the fixed opening');
  const rest = lines.slice(1);
  return rest.length > 0 && rest[rest.length - 1]!.text === closing ? rest.slice(0, -1) : rest;
}

/** Common invariants of every script. */
function assertWellFormed(lines: ScriptLine[], inp: LocalScriptInput): ScriptLine[] {
  assert.ok(lines.length >= 2);
  assert.equal(lines[0]!.role, 'host', 'host speaks first');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    assert.equal(l.voiceId, l.role === 'host' ? inp.hostVoiceId : inp.guestVoiceId);
    if (i > 0) assert.notEqual(l.role, lines[i - 1]!.role, `lines ${i - 1} and ${i} have the same speaker`);
    assert.equal(l.text, l.text.trim());
    assert.ok(l.text.length > 0);
  }

  const source = normaliseText(inp.text);
  const content = contentLines(lines, inp.language, inp.title, inp.style);
  assert.ok(content.length > 0);
  let pos = 0;
  for (const l of content) {
    assert.ok(l.text.length <= MAX_TURN_CHARS, `turn too long: ${l.text.length}`);
    const at = source.indexOf(l.text, pos);
    assert.ok(at >= 0, `not a substring of the source (in order): ${JSON.stringify(l.text)}`);
    // Nothing but whitespace is skipped between consecutive turns.
    assert.match(source.slice(pos, at), /^\s*$/, `content skipped before ${JSON.stringify(l.text)}`);
    pos = at + l.text.length;
    const n = splitSentences(l.text, inp.language).length;
    assert.ok(n >= 1 && n <= 3, `turn has ${n} sentences: ${JSON.stringify(l.text)}`);
  }
  return content;
}

describe('script/localWriter', () => {
  it('is deterministic', () => {
    const a = writeLocalScript(input());
    const b = writeLocalScript(structuredClone(input()));
    assert.deepEqual(a, b);
    assert.deepEqual(writeLocalScript(input({ language: 'zh', text: ZH_SOURCE })), writeLocalScript(input({ language: 'zh', text: ZH_SOURCE })));
  });

  it('uses every sentence of a short source once, in order, alternating host and guest', () => {
    const inp = input();
    const lines = writeLocalScript(inp);
    const content = assertWellFormed(lines, inp);
    const expected = splitSentences(normaliseText(EN_SOURCE), 'en-US');
    const got = content.flatMap((l) => splitSentences(l.text, 'en-US'));
    assert.deepEqual(got, expected, 'all sentences, in order, no repeats, no padding');
    // Content starts with the guest right after the host's opening, and the host closes.
    assert.equal(content[0]!.role, 'guest');
    assert.deepEqual(lines[lines.length - 1], { role: 'host', text: framingLines('en-US', inp.title).closing, voiceId: HOST });
    // Turns never span a paragraph break.
    for (const l of content) assert.ok(!l.text.includes('\n'));
  });

  it('frames English scripts in English', () => {
    const lines = writeLocalScript(input());
    assert.equal(lines[0]!.text, 'Welcome. Today: The Rise of Podcasts.');
    assert.equal(lines[lines.length - 1]!.text, "That's all for today. Thanks for listening.");
    assert.equal(writeLocalScript(input({ title: 'Why now?' }))[0]!.text, 'Welcome. Today: Why now?');
    const untitled = writeLocalScript(input({ title: null }));
    assert.equal(untitled[0]!.text, framingLines('en', null).opening);
    assert.ok(!untitled[0]!.text.includes('Today:'));
  });

  it('frames Chinese scripts in Chinese and keeps Chinese content verbatim', () => {
    const inp = input({ language: 'zh-CN', text: ZH_SOURCE, title: '人工智能与播客' });
    const lines = writeLocalScript(inp);
    assert.equal(lines[0]!.text, '欢迎收听。今天我们来聊：人工智能与播客。');
    assert.match(lines[lines.length - 1]!.text, /感谢收听/);
    const content = assertWellFormed(lines, inp);
    assert.deepEqual(
      content.flatMap((l) => splitSentences(l.text, 'zh')),
      splitSentences(normaliseText(ZH_SOURCE), 'zh'),
    );
    // zh* selects Chinese framing regardless of region; other tags get English.
    assert.match(writeLocalScript(input({ language: 'zh-TW', text: ZH_SOURCE }))[0]!.text, /^欢迎收听/);
    assert.match(writeLocalScript(input({ language: 'fr', text: ZH_SOURCE }))[0]!.text, /^Welcome/);
  });

  it('sizes a long source to the target, truncating at a sentence boundary', () => {
    // ~80 distinct sentences, far more than a minute of speech.
    const long = Array.from({ length: 80 }, (_, i) => `Sentence number ${i + 1} talks about topic ${i + 1} in some detail.`).join(' ');
    const inp = input({ text: long, targetDurationSec: 60 });
    const lines = writeLocalScript(inp);
    const content = assertWellFormed(lines, inp);
    const seconds = estimateScriptSeconds(lines, 'en');
    assert.ok(seconds <= 60, `script is ${seconds.toFixed(1)} s`);
    assert.ok(seconds >= 50, `script should fill most of the target, got ${seconds.toFixed(1)} s`);
    const sentences = content.flatMap((l) => splitSentences(l.text, 'en'));
    const all = splitSentences(long, 'en');
    assert.ok(sentences.length < all.length);
    assert.deepEqual(sentences, all.slice(0, sentences.length), 'a leading run of whole sentences');

    const zhLong = Array.from({ length: 120 }, (_, i) => `这是第${i + 1}句话，讲的是一个很有意思的话题。`).join('');
    const zhInp = input({ text: zhLong, language: 'zh', targetDurationSec: 60 });
    const zhLines = writeLocalScript(zhInp);
    assertWellFormed(zhLines, zhInp);
    const zhSeconds = estimateScriptSeconds(zhLines, 'zh');
    assert.ok(zhSeconds <= 60 && zhSeconds >= 45, `zh script is ${zhSeconds.toFixed(1)} s`);

    // A longer target keeps more.
    const longer = writeLocalScript(input({ text: long, targetDurationSec: 180 }));
    assert.ok(estimateScriptSeconds(longer, 'en') > seconds + 60);
  });

  it('breaks an over-long sentence into turn-sized pieces of its own text', () => {
    const runOn = Array.from({ length: 120 }, (_, i) => `word${i}`).join(' ') + '.';
    const inp = input({ text: runOn, title: null, targetDurationSec: 3600 });
    const lines = writeLocalScript(inp);
    const content = contentLines(lines, 'en', null);
    assert.ok(content.length >= 2);
    for (const l of content) assert.ok(l.text.length <= MAX_TURN_CHARS);
    assert.equal(content.map((l) => l.text).join(' '), runOn);
    for (let i = 1; i < lines.length; i++) assert.notEqual(lines[i]!.role, lines[i - 1]!.role);
  });

  it('keeps strict alternation even when the turns cannot be evened out for the closing', () => {
    // Two one-sentence paragraphs: two guest/host turns that may not be merged across the break.
    const inp = input({ text: 'First paragraph.\n\nSecond paragraph.', title: 'T' });
    const lines = writeLocalScript(inp);
    assert.deepEqual(lines, [
      { role: 'host', text: 'Welcome. Today: T.', voiceId: HOST },
      { role: 'guest', text: 'First paragraph.', voiceId: GUEST },
      { role: 'host', text: 'Second paragraph.', voiceId: HOST },
    ]);
    // With a multi-sentence turn available, it is split so the host can close.
    const lines2 = writeLocalScript(input({ text: 'One. Two.\n\nThree.', title: 'T' }));
    assert.deepEqual(
      lines2.map((l) => [l.role, l.text]),
      [
        ['host', 'Welcome. Today: T.'],
        ['guest', 'One.'],
        ['host', 'Two.'],
        ['guest', 'Three.'],
        ['host', "That's all for today. Thanks for listening."],
      ],
    );
  });

  it('varies turn shape and closing by style, without changing the content', () => {
    const casual = writeLocalScript(input({ style: 'casual' }));
    const formal = writeLocalScript(input({ style: 'formal' }));
    assertWellFormed(formal, input({ style: 'formal' }));
    assert.notEqual(formal[formal.length - 1]!.text, casual[casual.length - 1]!.text);
    const sentences = (ls: ScriptLine[], style: LocalScriptInput['style']) =>
      contentLines(ls, 'en', 'The Rise of Podcasts', style).flatMap((l) => splitSentences(l.text, 'en'));
    assert.deepEqual(sentences(formal, 'formal'), sentences(casual, 'casual'));
  });

  it('throws a clear error when there is nothing to say, and on bad input', () => {
    assert.throws(() => writeLocalScript(input({ text: '   \n\t ' })), /no sentences/);
    assert.throws(() => writeLocalScript(input({ text: '…… *** ——' })), /no sentences/);
    assert.throws(() => writeLocalScript(input({ targetDurationSec: 0 })), RangeError);
    assert.throws(() => writeLocalScript(input({ hostVoiceId: '' })), TypeError);
  });
});
