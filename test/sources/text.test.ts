import assert from 'node:assert/strict';
import { chunkText, normaliseText, sentenceSpans, splitSentences } from '../../src/sources/text';

/** Asserts that `pieces`, in order, make up `text` with only whitespace between/around them. */
function assertReassembles(text: string, pieces: string[]): void {
  let pos = 0;
  for (const piece of pieces) {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
    assert.ok(text.startsWith(piece, pos), `piece ${JSON.stringify(piece)} not found at ${pos} in ${JSON.stringify(text)}`);
    pos += piece.length;
  }
  assert.match(text.slice(pos), /^\s*$/, `unconsumed tail ${JSON.stringify(text.slice(pos))}`);
}

// Small deterministic PRNG so failures are reproducible.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PARTS = [
  '人工智能',
  '正在',
  '改变',
  '世界',
  '我们',
  '的生活',
  '。',
  '！',
  '？',
  '；',
  '……',
  '，',
  '、',
  '“',
  '”',
  '「',
  '」',
  'The',
  'quick',
  'brown',
  'fox',
  'Mr.',
  'Dr.',
  'e.g.',
  'U.S.',
  '3.14',
  'jumps',
  '.',
  '!',
  '?',
  ',',
  ';',
  '...',
  ' ',
  ' ',
  ' ',
  '  ',
  '\n',
  '\n\n',
  '\t',
  '😀',
  '👩‍💻',
  'é',
  'e\u0301',
  'Supercalifragilisticexpialidocious',
  '没有标点的很长很长很长很长很长很长的一段中文文字',
];

function randomText(rand: () => number): string {
  const n = Math.floor(rand() * 60);
  let s = '';
  for (let i = 0; i < n; i++) {
    s += PARTS[Math.floor(rand() * PARTS.length)];
    if (rand() < 0.3) s += ' ';
  }
  return s;
}

describe('sources/text', () => {
  describe('normaliseText', () => {
    it('unifies newlines, strips controls, collapses spaces and blank lines, trims', () => {
      const input = '  Hello\t\t world\u0000!\r\nLine two\u00a0\u00a0here \r\r\r\n\n\nPara\u2028three\uFEFF  ';
      assert.equal(normaliseText(input), 'Hello world!\nLine two here\n\nPara\nthree');
    });

    it('applies NFC so decomposed accents compose', () => {
      const out = normaliseText('Cafe\u0301');
      assert.equal(out, 'Caf\u00e9');
      assert.equal(out.length, 4);
    });

    it('keeps a single paragraph break and Chinese text intact', () => {
      assert.equal(normaliseText('第一段。\n\n\n\n第二段。'), '第一段。\n\n第二段。');
      assert.equal(normaliseText('   \n\t \n  '), '');
    });
  });

  describe('splitSentences', () => {
    it('splits mixed Chinese and English text', () => {
      const text =
        '人工智能正在改变世界。AI is changing the world! 你同意吗？他说：“我同意。”我觉得；也许……不是。Mr. Smith agrees, e.g. in his book. Dr. Jones does not.';
      assert.deepEqual(splitSentences(text, 'zh-CN'), [
        '人工智能正在改变世界。',
        'AI is changing the world!',
        '你同意吗？',
        '他说：“我同意。”',
        '我觉得；',
        '也许……',
        '不是。',
        'Mr. Smith agrees, e.g. in his book.',
        'Dr. Jones does not.',
      ]);
    });

    it('handles English abbreviations, initials and decimals reasonably', () => {
      const text = 'Mr. Smith paid $3.50 at 5 p.m. today. J. K. Rowling wrote it. See Fig. 3 for details. Take vitamin C. Then rest.';
      assert.deepEqual(splitSentences(text, 'en'), [
        'Mr. Smith paid $3.50 at 5 p.m. today.',
        'J. K. Rowling wrote it.',
        'See Fig. 3 for details.',
        'Take vitamin C.',
        'Then rest.',
      ]);
    });

    it('treats line breaks as boundaries and keeps English ellipses and semicolons whole', () => {
      assert.deepEqual(splitSentences('标题\n正文第一句。第二句！\n\nWait… what; really?', 'zh'), ['标题', '正文第一句。', '第二句！', 'Wait… what; really?']);
    });

    it('returns nothing for blank text and tolerates a bad language tag', () => {
      assert.deepEqual(splitSentences('  \n '), []);
      assert.deepEqual(splitSentences('One. Two.', 'not a tag!!'), ['One.', 'Two.']);
    });

    it('never loses or reorders characters (generated inputs)', () => {
      const rand = mulberry32(42);
      for (let i = 0; i < 300; i++) {
        const text = randomText(rand);
        const sentences = splitSentences(text, i % 2 ? 'zh' : 'en');
        for (const s of sentences) assert.equal(s, s.trim());
        assertReassembles(text, sentences);
        const spans = sentenceSpans(text);
        for (let k = 1; k < spans.length; k++) assert.ok(spans[k]!.start >= spans[k - 1]!.end);
      }
    });
  });

  describe('chunkText', () => {
    it('packs whole sentences up to the limit', () => {
      const text = 'One two three. Four five six. Seven eight nine. Ten.';
      assert.deepEqual(chunkText(text, 30), ['One two three. Four five six.', 'Seven eight nine. Ten.']);
      assert.deepEqual(chunkText(text, 1000), [text]);
    });

    it('falls back to clause punctuation, then whitespace, then a hard cut', () => {
      assert.deepEqual(chunkText('这是一个很长的句子，没有句号但是有逗号，还有更多的内容', 12), [
        '这是一个很长的句子，',
        '没有句号但是有逗号，',
        '还有更多的内容',
      ]);
      assert.deepEqual(chunkText('alpha beta gamma delta', 11), ['alpha beta', 'gamma delta']);
      assert.deepEqual(chunkText('abcdefghij', 4), ['abcd', 'efgh', 'ij']);
    });

    it('does not split a surrogate pair on a hard cut', () => {
      assert.deepEqual(chunkText('ab😀cd', 3), ['ab', '😀c', 'd']);
    });

    it('rejects a non-positive limit and returns [] for blank text', () => {
      assert.throws(() => chunkText('abc', 0), RangeError);
      assert.throws(() => chunkText('abc', 2.5), RangeError);
      assert.deepEqual(chunkText(' \n ', 10), []);
    });

    it('never exceeds maxChars and loses nothing (generated inputs)', () => {
      const rand = mulberry32(7);
      const limits = [1, 2, 3, 5, 8, 17, 40, 120];
      let nonTrivial = 0;
      for (let i = 0; i < 400; i++) {
        const text = randomText(rand);
        const maxChars = limits[i % limits.length]!;
        const chunks = chunkText(text, maxChars);
        if (chunks.length > 1) nonTrivial++;
        for (const c of chunks) {
          assert.ok(c.length > 0 && c.length <= maxChars, `chunk ${JSON.stringify(c)} > ${maxChars}`);
          assert.equal(c, c.trim());
          if (maxChars >= 2) {
            const first = c.charCodeAt(0);
            const last = c.charCodeAt(c.length - 1);
            assert.ok(!(first >= 0xdc00 && first <= 0xdfff), 'chunk starts inside a surrogate pair');
            assert.ok(!(last >= 0xd800 && last <= 0xdbff), 'chunk ends inside a surrogate pair');
          }
        }
        assertReassembles(text, chunks);
        assert.equal(chunks.join('').replace(/\s/g, ''), text.replace(/\s/g, ''));
      }
      assert.ok(nonTrivial > 200, 'the generator should exercise real splitting');
    });
  });
});
