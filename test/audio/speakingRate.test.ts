import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probeDuration } from '../../src/audio/ffmpeg';
import { createLocalTts, localVoiceFor } from '../../src/providers/tts/local';
import { DEFAULT_SPEAKING_RATES, lineSeconds } from '../../src/script/pace';
import { longArticle } from '../helpers/generation';
import { sourceDocument } from '../../src/sources/markdown';

/**
 * Calibrates the offline voices: scripts are sized by DEFAULT_SPEAKING_RATES.local, so the
 * installed espeak-ng must speak at those rates. Speaks lines of every length a script has and
 * compares the measured seconds with the rate's prediction.
 */
describe('speaking rate of the local voices (espeak-ng)', function () {
  this.timeout(120_000);
  const tts = createLocalTts();
  let dir: string;
  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rate-test-'));
  });
  after(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const samples = (language: 'en' | 'zh') => {
    const paragraphs = sourceDocument(longArticle(language, 1, 20)).sections[0]!.paragraphs;
    const sentences = paragraphs.flatMap((p) => p.split(/(?<=[.。])\s*/u)).filter(Boolean);
    // Short host questions, one-sentence turns and three-sentence turns.
    const short = language === 'zh' ? ['然后呢？', '真的吗？接着说。', '有意思，还有呢？'] : ['Go on.', 'Really? Then what?', 'Interesting. And?'];
    return [
      ...short,
      ...sentences.slice(0, 4),
      sentences.slice(4, 7).join(language === 'zh' ? '' : ' '),
      sentences.slice(7, 10).join(language === 'zh' ? '' : ' '),
    ];
  };

  for (const [language, tag, cls] of [
    ['en', 'en-US', 'other'],
    ['zh', 'zh-CN', 'cjk'],
  ] as const) {
    it(`${tag}: measured seconds are within 10 % of the rate's prediction`, async () => {
      const rate = DEFAULT_SPEAKING_RATES.local[cls];
      let measured = 0;
      let predicted = 0;
      for (const [i, text] of samples(language).entries()) {
        for (const gender of ['female', 'male'] as const) {
          const outputPath = path.join(dir, `${language}-${i}-${gender}.wav`);
          await tts.synthesize({ text, providerVoice: localVoiceFor(tag, gender), language: tag, speed: 1, format: 'wav', outputPath });
          const seconds = await probeDuration(outputPath);
          measured += seconds;
          predicted += lineSeconds(text, rate);
          // Each line on its own stays within a third (a script has many; the sum is what matters).
          assert.ok(
            Math.abs(seconds / lineSeconds(text, rate) - 1) < 0.35,
            `${JSON.stringify(text)}: ${seconds.toFixed(2)} s, predicted ${lineSeconds(text, rate).toFixed(2)} s`,
          );
        }
      }
      const off = measured / predicted - 1;
      assert.ok(Math.abs(off) <= 0.1, `measured ${measured.toFixed(1)} s, predicted ${predicted.toFixed(1)} s (${(off * 100).toFixed(1)} %)`);
    });
  }
});
