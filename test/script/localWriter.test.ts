import assert from 'node:assert/strict';
import { maxTurnChars, writeLocalScript, type LocalScriptInput, type ScriptLine } from '../../src/script/localWriter';
import { DEFAULT_SPEAKING_RATES, scriptSeconds, type ScriptPace } from '../../src/script/pace';
import { closingLine, followUpLine, openingLine, sectionIntroLine, type ScriptStyle } from '../../src/script/phrases';
import { documentText, sourceDocument } from '../../src/sources/markdown';

const HOST = 'voice-host-1';
const GUEST = 'voice-guest-2';

const EN_SOURCE = `# The Rise of Podcasts

## Beginnings
Podcasts began as a niche hobby.   Early shows were recorded in bedrooms with cheap microphones. Listeners found them through word of mouth.

## The smartphone
Then smartphones changed everything. Mr. Jobs put a podcast app on every iPhone, e.g. the one in your pocket. Suddenly millions of people could subscribe with a single tap.

## Money
Advertisers followed the audience. By 2020 the industry earned more than $800 million a year in the U.S. alone. Networks bought independent shows and signed exclusive deals.

## Discovery
Today the challenge is discovery. There are millions of shows, and most get only a handful of plays. Good metadata and clear titles matter more than ever.
`;

const ZH_SOURCE = `# 声音工作室的一天

## 变化
人工智能正在改变内容创作的方式。过去需要一个团队几天才能完成的节目，现在几分钟就能生成！这是真的吗？

## 问题
当然，技术也带来了新的问题。如何保证内容准确？如何尊重原作者的版权？

这些问题需要整个行业一起思考。我们不能把一切都交给算法。
`;

/** Markdown of every kind a user pastes: headings, lists, emphasis, links, code, images, tables, HTML. */
const MARKDOWN_HEAVY = `# Field notes

Intro with **bold**, _italic_, \`code\`, a [link](https://example.com/a) and a bare https://example.org/x?y=1 address.

## Tools we used
- **Recorder**: a Zoom H5 (see <https://zoomcorp.com>)
- *Microphones*: two dynamic ones
  1. SM7B
  2. RE20

> A quote worth reading: quality beats quantity.

![diagram](img/setup.png)

| Item | Cost |
|------|------|
| Mic  | 400  |

\`\`\`bash
ffmpeg -i in.wav out.mp3
\`\`\`

<div class="note">Raw <b>HTML</b> here.</div>

### Lessons
1. Record a backup track.
2. Label every file ~~badly~~ well.

[ref]: https://example.com/ref
`;

function input(overrides: Partial<LocalScriptInput> = {}): LocalScriptInput {
  return { title: null, text: EN_SOURCE, language: 'en-US', targetDurationSec: 600, hostVoiceId: HOST, guestVoiceId: GUEST, ...overrides };
}

function localPace(language: string): ScriptPace {
  const rate = language.startsWith('zh') ? DEFAULT_SPEAKING_RATES.local.cjk : DEFAULT_SPEAKING_RATES.local.other;
  return { host: rate, guest: rate };
}

/** Every phrase the host may say for this language and style (section titles filled in). */
function hostPhrases(language: string, style: ScriptStyle, titles: string[]): Set<string> {
  const out = new Set<string>([closingLine(language, style)]);
  for (let k = 0; k < 20; k++) {
    for (let r = 0; r < 20; r++) out.add(followUpLine(language, style, k, r));
    for (const t of titles) out.add(sectionIntroLine(language, style, t, k));
  }
  return out;
}

/** Invariants of every script: alternation, voices, faithful guest turns in order, host words from the bank. */
function assertConversation(lines: ScriptLine[], inp: LocalScriptInput): void {
  const language = inp.language;
  const style = inp.style ?? 'casual';
  const doc = sourceDocument(inp.text);
  const titles = doc.sections.map((s) => s.title).filter((t): t is string => Boolean(t));
  assert.ok(lines.length >= 3);
  assert.equal(lines[0]!.role, 'host', 'the host opens');
  assert.equal(lines[lines.length - 1]!.role, 'host', 'the host closes');
  assert.equal(lines[lines.length - 1]!.text, closingLine(language, style));
  assert.ok(lines[0]!.text.startsWith(openingLine(language, style, inp.title ?? doc.title)), lines[0]!.text);
  const phrases = hostPhrases(language, style, titles);
  const source = documentText(doc).replace(/\s+/g, ' ');
  let pos = 0;
  for (const [i, l] of lines.entries()) {
    assert.equal(l.voiceId, l.role === 'host' ? HOST : GUEST);
    if (i > 0) assert.notEqual(l.role, lines[i - 1]!.role, `lines ${i - 1} and ${i} have the same speaker`);
    assert.ok(l.text.length > 0 && l.text === l.text.trim());
    if (l.role === 'guest') {
      assert.ok(l.text.length <= maxTurnChars(language), `turn too long: ${l.text.length}`);
      // Faithful: the guest says the source's own words, in order (tiny turns may join across a paragraph break).
      for (const piece of l.text.split(/(?<=[.!?。！？)])\s*/u).filter(Boolean)) {
        const at = source.indexOf(piece, pos);
        assert.ok(at >= 0, `not from the source (in order): ${JSON.stringify(piece)}`);
        pos = at + piece.length;
      }
    } else if (i > 0) {
      assert.ok(phrases.has(l.text), `host line not from the phrase bank: ${JSON.stringify(l.text)}`);
    }
  }
  const hosts = lines.filter((l) => l.role === 'host').length;
  assert.ok(hosts >= lines.length / 4 && lines.length - hosts >= lines.length / 4, 'each voice carries at least a quarter of the lines');
}

describe('script/localWriter', () => {
  it('writes a conversation: host opens, introduces each section by its title, asks; the guest carries the source', () => {
    const inp = input();
    const { lines, usedAllMaterial } = writeLocalScript(inp);
    assertConversation(lines, inp);
    assert.equal(usedAllMaterial, true, 'a 10-minute target takes all of a short source');
    assert.match(lines[0]!.text, /^Welcome\. Today: The Rise of Podcasts\./, 'the document title becomes the podcast title');
    for (const title of ['The smartphone', 'Money', 'Discovery']) {
      assert.ok(
        lines.some((l) => l.role === 'host' && l.text.includes(title)),
        `section "${title}" is introduced by the host`,
      );
    }
  });

  it('is deterministic', () => {
    assert.deepEqual(writeLocalScript(input()), writeLocalScript(structuredClone(input())));
    assert.deepEqual(writeLocalScript(input({ language: 'zh-CN', text: ZH_SOURCE })), writeLocalScript(input({ language: 'zh-CN', text: ZH_SOURCE })));
  });

  it('speaks the language and style of the podcast', () => {
    for (const style of ['casual', 'formal', 'debate'] as const) {
      const zh = input({ language: 'zh-CN', text: ZH_SOURCE, style });
      const { lines } = writeLocalScript(zh);
      assertConversation(lines, zh);
      for (const l of lines.filter((x) => x.role === 'host')) assert.match(l.text, /[\u4e00-\u9fff]/, `Chinese host line: ${l.text}`);
      assert.doesNotMatch(lines[0]!.text, / /, 'Chinese lines are joined without spaces');
      const en = input({ style });
      assertConversation(writeLocalScript(en).lines, en);
    }
    assert.notDeepEqual(writeLocalScript(input({ style: 'casual' })).lines, writeLocalScript(input({ style: 'debate' })).lines);
  });

  it('never speaks Markdown syntax or a raw URL', () => {
    const inp = input({ text: MARKDOWN_HEAVY, targetDurationSec: 900 });
    const { lines } = writeLocalScript(inp);
    assertConversation(lines, inp);
    for (const l of lines) {
      assert.doesNotMatch(l.text, /(^|\s)#{1,6}\s|\*\*|__|`|!\[|\]\(|^\s*[-*+]\s|\|\s*-{3}|<\/?[a-z]+|https?:\/\/|www\./i, `Markdown or URL in: ${l.text}`);
    }
    const all = lines.map((l) => l.text).join(' ');
    for (const words of ['Recorder: a Zoom H5', 'two dynamic ones', 'quality beats quantity', 'Record a backup track', 'Tools we used', 'Lessons']) {
      assert.ok(all.includes(words), `kept: ${words}`);
    }
    for (const dropped of ['ffmpeg -i', 'Cost', 'diagram', 'Raw HTML']) assert.ok(!all.includes(dropped), `dropped: ${dropped}`);
  });

  it('sizes the script to the target at the voices’ pace, covering every section first', () => {
    const long = Array.from(
      { length: 6 },
      (_, k) =>
        `## Part ${k + 1}\n\n` +
        Array.from({ length: 60 }, (_, i) => `Sentence ${i + 1} of part ${k + 1} says something about item number ${i * 7 + k}.`).join(' '),
    ).join('\n\n');
    for (const target of [60, 300, 900]) {
      const inp = input({ text: long, targetDurationSec: target, pace: localPace('en') });
      const script = writeLocalScript(inp);
      assertConversation(script.lines, inp);
      assert.equal(script.usedAllMaterial, false);
      assert.ok(Math.abs(script.expectedSeconds / target - 1) <= 0.1, `expected ${script.expectedSeconds.toFixed(0)} s for ${target} s`);
      assert.equal(Math.round(script.expectedSeconds * 1000), Math.round(scriptSeconds(script.lines, localPace('en')) * 1000));
      if (target >= 300)
        for (let k = 1; k <= 6; k++)
          assert.ok(
            script.lines.some((l) => l.text.includes(`Part ${k}`)),
            `part ${k} is covered`,
          );
      if (target >= 300)
        assert.ok(
          script.lines.some((l) => l.text === followUpLine('en', 'casual', 0, 0)),
          'the host asks between turns',
        );
    }
  });

  it('a longer target keeps every line of a shorter one (so only new lines are spoken)', () => {
    const long = Array.from(
      { length: 4 },
      (_, k) => `## Chapter ${k + 1}\n\n` + Array.from({ length: 25 }, (_, i) => `Fact ${i} of chapter ${k + 1} is plain.`).join(' '),
    ).join('\n\n');
    const short = writeLocalScript(input({ text: long, targetDurationSec: 120 })).lines.map((l) => l.text);
    const longer = writeLocalScript(input({ text: long, targetDurationSec: 240 })).lines.map((l) => l.text);
    const kept = short.filter((t) => longer.includes(t)).length;
    assert.ok(kept >= short.length - 1, `${short.length - kept} of ${short.length} lines changed`);
    assert.ok(longer.length > short.length * 1.5);
  });

  it('says when the source holds less than the target', () => {
    const { expectedSeconds, usedAllMaterial } = writeLocalScript(input({ text: 'One short sentence. And another.', targetDurationSec: 600 }));
    assert.equal(usedAllMaterial, true);
    assert.ok(expectedSeconds < 60);
  });

  it('splits sentences longer than a turn', () => {
    const endless = `${'word '.repeat(300)}end.`;
    const inp = input({ text: endless });
    const { lines } = writeLocalScript(inp);
    assert.ok(lines.filter((l) => l.role === 'guest').length >= 3);
    for (const l of lines) assert.ok(l.text.length <= maxTurnChars('en'));
  });

  it('rejects input with nothing to say', () => {
    assert.throws(() => writeLocalScript(input({ text: '   \n\t ' })), /no sentences/);
    assert.throws(() => writeLocalScript(input({ text: '…… *** ——' })), /no sentences/);
    assert.throws(() => writeLocalScript(input({ text: '```\ncode only\n```' })), /no sentences/);
    assert.throws(() => writeLocalScript(input({ targetDurationSec: 0 })), RangeError);
    assert.throws(() => writeLocalScript(input({ hostVoiceId: '' })), TypeError);
  });
});
