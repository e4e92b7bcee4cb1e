import assert from 'node:assert/strict';
import { languageClass, lineSeconds, pausesAfter, scriptSeconds, speakingRateOf, speakingRatesFrom } from '../../src/script/pace';

describe('the speaking pace that sizes scripts, estimates and reservations', () => {
  it('tells CJK language tags from the others', () => {
    for (const tag of ['zh', 'zh-CN', 'zh_Hant', 'ja-JP', 'ko', 'ZH-tw', 'yue']) assert.equal(languageClass(tag), 'cjk', tag);
    for (const tag of ['en', 'en-US', 'fr', 'de-DE', 'zulu', '', 'zhx']) assert.equal(languageClass(tag), 'other', tag);
  });

  it('times a line as its onset plus characters over the rate; whitespace runs count once, emoji once', () => {
    const rate = { charsPerSecond: 4.5, lineSeconds: 0.5 };
    assert.equal(lineSeconds('一二三四五六七八九', rate), 2.5);
    assert.equal(lineSeconds('abcde  fghij\n\nklm', { charsPerSecond: 15, lineSeconds: 0 }), 1);
    assert.equal(lineSeconds('😀😀😀', { charsPerSecond: 3, lineSeconds: 0 }), 1);
    assert.equal(lineSeconds('   ', rate), 0, 'nothing to say takes no time');
  });

  it('knows each engine, and an unknown engine gets a cloud voice’s pace', () => {
    assert.ok(speakingRateOf('local', 'zh-CN').charsPerSecond < speakingRateOf('openai', 'zh-CN').charsPerSecond, 'espeak-ng speaks Mandarin slowly');
    assert.deepEqual(speakingRateOf('nobody', 'en'), speakingRateOf('openai', 'en'));
  });

  it('adds the stitcher’s pauses: longer between speakers than within a turn, none after the last line', () => {
    assert.deepEqual(pausesAfter(['host', 'guest', 'guest', 'host']), [0.45, 0.2, 0.45, 0]);
    const rate = { charsPerSecond: 10, lineSeconds: 0 };
    const lines = [
      { role: 'host' as const, text: '0123456789' },
      { role: 'guest' as const, text: '0123456789' },
    ];
    assert.equal(scriptSeconds(lines, { host: rate, guest: rate }), 2.45);
  });

  it('takes overrides from SPEAKING_RATES and refuses nonsense', () => {
    const rates = speakingRatesFrom('{"openai":{"cjk":{"charsPerSecond":5}}}');
    assert.equal(rates.openai.cjk.charsPerSecond, 5);
    assert.equal(rates.openai.other.charsPerSecond, speakingRateOf('openai', 'en').charsPerSecond, 'the rest stays default');
    assert.throws(() => speakingRatesFrom('{"espeak":{}}'), /unknown engine/);
    assert.throws(() => speakingRatesFrom('{"local":{"cjk":{"charsPerSecond":0}}}'), /positive/);
  });
});
