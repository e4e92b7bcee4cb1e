import assert from 'node:assert/strict';
import { spokenAudioProblem, stitchedAudioProblem } from '../../src/audio/checks';

describe('the check of a spoken line', () => {
  const text = 'A sentence that takes about four seconds to say aloud.'; // 54 characters: ~4 s for a cloud voice in English
  const check = (duration: number | null, speed = 1, language = 'en-US') => spokenAudioProblem({ duration, text, engine: 'openai', language, speed });

  it('passes speech of a plausible length, fast or slow voices alike', () => {
    for (const d of [1.2, 3.7, 8]) assert.equal(check(d), null, `${d} s`);
    assert.equal(check(1.8, 2), null, 'twice the speed, half the time');
  });

  it('refuses audio that does not decode, a sliver, or ten times the expected length', () => {
    assert.match(check(null)!, /does not decode/);
    assert.match(check(0.05)!, /0\.05 s/);
    assert.match(check(0.3)!, /about 3\.9 s/);
    assert.match(check(37)!, /37\.0 s/);
  });

  it('judges Chinese by its own speaking rate', () => {
    // 20 characters of Mandarin take about 4.4 s.
    const zh = '人工智能正在改变我们制作音频内容的方式。';
    for (const engine of ['local', 'openai', 'elevenlabs']) {
      assert.equal(spokenAudioProblem({ duration: 4, text: zh, engine, language: 'zh-CN', speed: 1 }), null, engine);
      assert.notEqual(spokenAudioProblem({ duration: 0.2, text: zh, engine, language: 'zh-CN', speed: 1 }), null, engine);
    }
  });
});

describe('the check of a stitched file', () => {
  it('passes its lines and pauses, whole, and refuses a file that lost or gained audio', () => {
    const lines = [3.2, 2.8, 4.0]; // 10 s of lines
    const pauses = [450, 200, 0]; // and 0.65 s of pauses
    assert.equal(stitchedAudioProblem(10.7, lines, pauses), null, 'an encoder adds a few milliseconds');
    assert.match(stitchedAudioProblem(7.0, lines, pauses)!, /7\.0 s where its lines and pauses make 10\.7 s/);
    assert.notEqual(stitchedAudioProblem(12, lines, pauses), null);
    // Two hours: 2 % is 144 s of slack, no more.
    assert.equal(stitchedAudioProblem(7250, [7200], [0]), null);
    assert.notEqual(stitchedAudioProblem(7000, [7200], [0]), null);
  });
});
