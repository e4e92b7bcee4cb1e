import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { probeDuration } from '../../src/audio/ffmpeg';
import { createLocalTts, localVoiceFor, speedToWpm } from '../../src/providers/tts/local';
import { ProviderError, type SynthesisRequest } from '../../src/providers/tts/types';

const ZH = '你好，欢迎收听今天的播客节目。我们来聊聊人工智能。';
const EN = 'Hello and welcome to the show. Today we talk about artificial intelligence.';

function streamInfo(file: string): { codec: string; sampleRate: number; channels: number } {
  const out = execFileSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=codec_name,sample_rate,channels', '-of', 'json', file],
    {
      encoding: 'utf8',
    },
  );
  const s = (JSON.parse(out) as { streams: Array<{ codec_name: string; sample_rate: string; channels: number }> }).streams[0]!;
  return { codec: s.codec_name, sampleRate: Number(s.sample_rate), channels: s.channels };
}

describe('local TTS (espeak-ng)', () => {
  let dir: string;
  const tts = createLocalTts();

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'local-tts-test-'));
  });
  after(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  function req(over: Partial<SynthesisRequest>): SynthesisRequest {
    return { text: EN, providerVoice: 'en-us+f3', language: 'en-US', speed: 1, format: 'wav', outputPath: path.join(dir, 'out.wav'), ...over };
  }

  it('describes itself', () => {
    assert.equal(tts.name, 'local');
    assert.equal(tts.maxChars, 4000);
  });

  it('synthesizes a Chinese sentence to a decodable WAV', async () => {
    const outputPath = path.join(dir, 'zh.wav');
    const res = await tts.synthesize(req({ text: ZH, providerVoice: 'cmn+f3', language: 'zh-CN', outputPath }));
    assert.equal(res.characters, ZH.length);
    assert.equal(res.apiCost, 0);
    assert.equal(res.bytes, (await fsp.stat(outputPath)).size);
    const info = streamInfo(outputPath);
    assert.equal(info.codec, 'pcm_s16le');
    assert.equal(info.channels, 1);
    const d = await probeDuration(outputPath);
    assert.ok(d > 0.5 && d < 30, `duration ${d}`);
  });

  it('synthesizes an English sentence to a decodable MP3 and leaves no temp files', async () => {
    const sub = await fsp.mkdtemp(path.join(dir, 'mp3-'));
    const outputPath = path.join(sub, 'en.mp3');
    const res = await tts.synthesize(req({ text: EN, providerVoice: 'en-us+m3', format: 'mp3', outputPath }));
    assert.equal(streamInfo(outputPath).codec, 'mp3');
    assert.equal(res.bytes, (await fsp.stat(outputPath)).size);
    const d = await probeDuration(outputPath);
    assert.ok(d > 0.5 && d < 30, `duration ${d}`);
    assert.deepEqual(await fsp.readdir(sub), ['en.mp3']);
  });

  it('duration scales with text length, and faster speed is shorter', async () => {
    const one = path.join(dir, 'one.wav');
    const three = path.join(dir, 'three.wav');
    const fast = path.join(dir, 'fast.wav');
    await tts.synthesize(req({ text: EN, outputPath: one }));
    await tts.synthesize(req({ text: `${EN} ${EN} ${EN}`, outputPath: three }));
    await tts.synthesize(req({ text: EN, speed: 2, outputPath: fast }));
    const [d1, d3, dFast] = await Promise.all([probeDuration(one), probeDuration(three), probeDuration(fast)]);
    assert.ok(d3 > d1 * 2.4 && d3 < d1 * 3.6, `1x=${d1} 3x=${d3}`);
    assert.ok(dFast < d1 * 0.75, `speed 1=${d1} speed 2=${dFast}`);

    const zhSlow = path.join(dir, 'zh-slow.wav');
    const zhFast = path.join(dir, 'zh-fast.wav');
    await tts.synthesize(req({ text: ZH, providerVoice: 'cmn+m3', speed: 0.75, outputPath: zhSlow }));
    await tts.synthesize(req({ text: ZH, providerVoice: 'cmn+m3', speed: 1.5, outputPath: zhFast }));
    assert.ok((await probeDuration(zhFast)) < (await probeDuration(zhSlow)) * 0.75);
  });

  it('speaks text that starts with "-" instead of treating it as options', async () => {
    const outputPath = path.join(dir, 'dash.wav');
    await tts.synthesize(req({ text: '-w /tmp/evil.wav --help minus signs are words too', outputPath }));
    assert.ok((await probeDuration(outputPath)) > 0.5);
  });

  it('maps speed to espeak words per minute, clamped to 80-450', () => {
    assert.equal(speedToWpm(1), 175);
    assert.equal(speedToWpm(2), 350);
    assert.equal(speedToWpm(0.5), 88);
    assert.equal(speedToWpm(0.1), 80);
    assert.equal(speedToWpm(5), 450);
    assert.equal(speedToWpm(Number.NaN), 175);
  });

  it('classifies a missing engine as a non-retryable TTS_ENGINE_MISSING', async () => {
    const missing = createLocalTts({ espeakPath: path.join(dir, 'no-such-espeak') });
    await assert.rejects(missing.synthesize(req({ outputPath: path.join(dir, 'x.wav') })), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.code, 'TTS_ENGINE_MISSING');
      assert.equal(err.retryable, false);
      return true;
    });
  });

  it('rejects unknown voices and empty or oversized text without retry', async () => {
    await assert.rejects(tts.synthesize(req({ providerVoice: 'xx-nosuchvoice' })), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.code, 'TTS_VOICE_UNKNOWN');
      assert.equal(err.retryable, false);
      return true;
    });
    await assert.rejects(tts.synthesize(req({ providerVoice: '-w /etc/passwd' })), { code: 'TTS_VOICE_UNKNOWN' });
    await assert.rejects(tts.synthesize(req({ text: '  \n ' })), { code: 'TTS_INVALID_INPUT', retryable: false });
    await assert.rejects(tts.synthesize(req({ text: 'a'.repeat(4001) })), { code: 'TTS_INVALID_INPUT', retryable: false });
  });

  it('other non-zero exits are retryable TTS_LOCAL_FAILED', async () => {
    const failing = path.join(dir, 'failing-espeak.sh');
    await fsp.writeFile(failing, '#!/bin/sh\ncat >/dev/null\necho "synthetic failure" >&2\nexit 3\n', { mode: 0o755 });
    await assert.rejects(createLocalTts({ espeakPath: failing }).synthesize(req({})), (err: unknown) => {
      assert.ok(err instanceof ProviderError);
      assert.equal(err.code, 'TTS_LOCAL_FAILED');
      assert.equal(err.retryable, true);
      assert.match(err.message, /synthetic failure/);
      return true;
    });
  });

  it('rejects with AbortError when aborted', async () => {
    const ctrl = new AbortController();
    ctrl.abort();
    await assert.rejects(tts.synthesize(req({ signal: ctrl.signal })), { name: 'AbortError' });
  });

  it('picks espeak-ng voices by language and gender', () => {
    assert.equal(localVoiceFor('zh-CN', 'female'), 'cmn+f3');
    assert.equal(localVoiceFor('zh', 'male'), 'cmn+m3');
    assert.equal(localVoiceFor('zh-Hans-CN', null), 'cmn');
    assert.equal(localVoiceFor('en-US', 'female'), 'en-us+f3');
    assert.equal(localVoiceFor('en-GB', 'male'), 'en-us+m3');
    assert.equal(localVoiceFor('en', 'neutral'), 'en-us');
    assert.equal(localVoiceFor('fr-CA', 'female'), 'fr-fr+f3');
    assert.equal(localVoiceFor('pt-BR', 'male'), 'pt-br+m3');
    assert.equal(localVoiceFor('de_DE', null), 'de');
    assert.equal(localVoiceFor('ja-JP', null), 'ja');
    assert.equal(localVoiceFor('tlh', 'male'), 'en-us+m3');
    assert.equal(localVoiceFor('', null), 'en-us');
  });

  it('every voice localVoiceFor can return is accepted by espeak-ng', async () => {
    for (const lang of ['zh-CN', 'en-US', 'fr', 'pt-BR', 'es-MX', 'no', 'de']) {
      const outputPath = path.join(dir, `v-${lang}.wav`);
      await tts.synthesize(req({ text: 'ok 1 2 3', providerVoice: localVoiceFor(lang, 'female'), language: lang, outputPath }));
      assert.ok((await fsp.stat(outputPath)).size > 1000);
    }
  });
});
