import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createElevenLabsTts, elevenLabsMaxChars } from '../../src/providers/tts/elevenlabs';
import { ProviderError, SynthesisRequest, TtsProvider } from '../../src/providers/tts/types';
import { fakeSpeechSeconds, probeAudio } from '../fakes/audio';
import { DEFAULT_ELEVENLABS_VOICES, FakeElevenLabs, startFakeElevenLabs } from '../fakes/elevenlabsServer';
import { rejectsWith, exists } from '../helpers/providerAssertions';

const KEY = 'xi-test-good';
const VOICE = DEFAULT_ELEVENLABS_VOICES[0]!;
const TTS_PATH = `/v1/text-to-speech/${VOICE}`;

describe('ElevenLabs TTS provider (real SDK against a loopback fake)', () => {
  let fake: FakeElevenLabs;
  let tts: TtsProvider;
  let dir: string;

  before(async () => {
    fake = await startFakeElevenLabs({ apiKey: KEY });
    tts = createElevenLabsTts({ apiKey: KEY, baseUrl: fake.url, timeoutMs: 10_000 });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'elevenlabs-tts-test-'));
  });
  after(async () => {
    await fake.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => fake.reset());

  function req(over: Partial<SynthesisRequest> = {}): SynthesisRequest {
    return {
      text: 'Welcome back to the show. Today we talk about sound.',
      providerVoice: VOICE,
      language: 'en-US',
      speed: 1,
      format: 'mp3',
      outputPath: path.join(dir, `out-${Math.random().toString(36).slice(2)}.mp3`),
      ...over,
    };
  }

  it('has per-model request limits', () => {
    assert.equal(tts.name, 'elevenlabs');
    assert.equal(tts.maxChars, 10_000);
    assert.equal(createElevenLabsTts({ apiKey: KEY, modelId: 'eleven_flash_v2_5' }).maxChars, 40_000);
    assert.equal(createElevenLabsTts({ apiKey: KEY, modelId: 'eleven_turbo_v2_5' }).maxChars, 40_000);
    assert.equal(elevenLabsMaxChars('eleven_v3'), 5_000);
  });

  it('writes a decodable mp3 and bills from the character-cost header', async () => {
    const r = req();
    const result = await tts.synthesize(r);
    assert.equal(result.bytes, (await fs.stat(r.outputPath)).size);
    assert.equal(result.characters, r.text.length);
    assert.ok(Math.abs(result.apiCost! - (r.text.length * 0.3) / 1000) < 1e-12);

    const probe = await probeAudio(r.outputPath);
    assert.equal(probe.codecName, 'mp3');
    assert.equal(probe.sampleRate, 44100);
    const expected = fakeSpeechSeconds(r.text.length);
    assert.ok(Math.abs(probe.durationSec - expected) < 0.1, `duration ${probe.durationSec} vs ${expected}`);

    assert.equal(fake.count(TTS_PATH), 1);
    const seen = fake.requests[0]!;
    assert.equal(seen.headers['xi-api-key'], KEY);
    assert.equal(seen.query.output_format, 'mp3_44100_128');
    assert.equal(seen.body.text, r.text);
    assert.equal(seen.body.model_id, 'eleven_multilingual_v2');
    // Normal speed leaves the voice's stored settings alone; multilingual v2 gets no language_code.
    assert.equal(seen.body.voice_settings, undefined);
    assert.equal(seen.body.language_code, undefined);
  });

  it('uses the billed count from the header, not the text length, with a configurable price', async () => {
    const flash = createElevenLabsTts({
      apiKey: KEY,
      baseUrl: fake.url,
      modelId: 'eleven_flash_v2_5',
      pricePer1kChars: 0.18,
    });
    const r = req({ text: 'x'.repeat(1000), language: 'zh-CN', speed: 1.1 });
    const result = await flash.synthesize(r);
    // Flash models cost half a credit per character.
    assert.equal(result.characters, 500);
    assert.ok(Math.abs(result.apiCost! - 0.09) < 1e-12);
    const seen = fake.requests[0]!;
    assert.equal(seen.body.model_id, 'eleven_flash_v2_5');
    assert.equal(seen.body.language_code, 'zh');
    assert.deepEqual(seen.body.voice_settings, { speed: 1.1 });
  });

  it('requests real WAV (wav_44100), not headerless PCM', async () => {
    const r = req({ format: 'wav', outputPath: path.join(dir, 'line.wav') });
    await tts.synthesize(r);
    assert.equal(fake.requests[0]!.query.output_format, 'wav_44100');
    const probe = await probeAudio(r.outputPath);
    assert.equal(probe.formatName, 'wav');
    assert.equal(probe.sampleRate, 44100);
    assert.ok(Math.abs(probe.durationSec - fakeSpeechSeconds(r.text.length)) < 0.01);
  });

  it("clamps speed to ElevenLabs' 0.7–1.2", async () => {
    await tts.synthesize(req({ speed: 2 }));
    await tts.synthesize(req({ speed: 0.5 }));
    assert.deepEqual(
      fake.requests.map((r) => r.body.voice_settings?.speed),
      [1.2, 0.7],
    );
  });

  it('sends the neighbouring text for continuity, trimmed to the part nearest the line, unless turned off or on eleven_v3', async () => {
    await tts.synthesize(req({ previousText: 'Before.', nextText: 'After.' }));
    await tts.synthesize(req({ previousText: 'x'.repeat(1500) + 'END', nextText: 'START' + 'y'.repeat(1500) }));
    await tts.synthesize(req({ previousText: '   ' }));
    await createElevenLabsTts({ apiKey: KEY, baseUrl: fake.url, context: false }).synthesize(req({ previousText: 'Before.', nextText: 'After.' }));
    await createElevenLabsTts({ apiKey: KEY, baseUrl: fake.url, modelId: 'eleven_v3' }).synthesize(req({ previousText: 'Before.', nextText: 'After.' }));
    const [plain, long, blank, off, v3] = fake.requests.map((r) => r.body);
    assert.equal(plain.previous_text, 'Before.');
    assert.equal(plain.next_text, 'After.');
    assert.equal(long.previous_text, 'x'.repeat(997) + 'END');
    assert.equal(long.next_text, 'START' + 'y'.repeat(995));
    for (const body of [blank, off, v3]) assert.ok(!('previous_text' in body) && !('next_text' in body), JSON.stringify(body));
  });

  it('maps 429 too_many_concurrent_requests with Retry-After to a retryable rate limit, no SDK retries', async () => {
    fake.faults.push({
      status: 429,
      headers: { 'retry-after': '2' },
      body: { detail: { status: 'too_many_concurrent_requests', message: 'Too many concurrent requests for your plan.' } },
    });
    const e = await rejectsWith(tts.synthesize(req()), {
      code: 'TTS_RATE_LIMITED',
      retryable: true,
      retryAfterMs: 2000,
      status: 429,
    });
    assert.match(e.message, /too_many_concurrent_requests/);
    assert.equal(fake.count(TTS_PATH), 1);
  });

  it('maps 429 system_busy to a retryable rate limit', async () => {
    fake.faults.push({
      status: 429,
      body: { detail: { status: 'system_busy', message: 'We are experiencing heavy traffic.' } },
    });
    const e = await rejectsWith(tts.synthesize(req()), { code: 'TTS_RATE_LIMITED', retryable: true, retryAfterMs: undefined });
    assert.match(e.message, /system_busy/);
  });

  it('maps 500 to a retryable unavailable error', async () => {
    fake.faults.push({ status: 500, body: { detail: { status: 'internal_error', message: 'boom' } } });
    await rejectsWith(tts.synthesize(req()), { code: 'TTS_PROVIDER_UNAVAILABLE', retryable: true, status: 500 });
    assert.equal(fake.count(TTS_PATH), 1);
  });

  it('maps an unknown voice (real 404 from the API) to TTS_UNKNOWN_VOICE', async () => {
    const e = await rejectsWith(tts.synthesize(req({ providerVoice: 'no-such-voice' })), {
      code: 'TTS_UNKNOWN_VOICE',
      retryable: false,
      status: 404,
    });
    assert.match(e.message, /no-such-voice/);
  });

  it('maps 400 and 422 to non-retryable invalid requests with the provider message', async () => {
    const odd = createElevenLabsTts({ apiKey: KEY, baseUrl: fake.url, modelId: 'eleven_imaginary_v9' });
    const e400 = await rejectsWith(odd.synthesize(req()), { code: 'TTS_INVALID_REQUEST', retryable: false, status: 400 });
    assert.match(e400.message, /eleven_imaginary_v9 does not exist/);

    fake.faults.push({
      status: 422,
      body: { detail: [{ type: 'value_error', loc: ['body', 'text'], msg: 'Text contains invalid characters', input: '' }] },
    });
    const e422 = await rejectsWith(tts.synthesize(req()), { code: 'TTS_INVALID_REQUEST', retryable: false, status: 422 });
    assert.match(e422.message, /body\.text: Text contains invalid characters/);
  });

  it('rejects text over the model limit locally', async () => {
    await rejectsWith(tts.synthesize(req({ text: 'a'.repeat(10_001) })), { code: 'TTS_INVALID_REQUEST', retryable: false });
    assert.equal(fake.count(TTS_PATH), 0);
  });

  it('maps a wrong key to auth failure, and exhausted credits to a quota error', async () => {
    const bad = createElevenLabsTts({ apiKey: 'xi-wrong', baseUrl: fake.url });
    const e = await rejectsWith(bad.synthesize(req()), { code: 'TTS_AUTH_FAILED', retryable: false, status: 401 });
    assert.match(e.message, /Invalid API key/);

    fake.faults.push({
      status: 401,
      body: { detail: { status: 'quota_exceeded', message: 'This request exceeds your quota of 10000.' } },
    });
    await rejectsWith(tts.synthesize(req()), { code: 'TTS_QUOTA_EXCEEDED', retryable: false, status: 401 });
  });

  it('maps a refused connection to retryable unavailable', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const nowhere = createElevenLabsTts({ apiKey: KEY, baseUrl: `http://127.0.0.1:${port}` });
    const e = await rejectsWith(nowhere.synthesize(req()), { code: 'TTS_PROVIDER_UNAVAILABLE', retryable: true });
    assert.match(e.message, /ECONNREFUSED|fetch failed/);
  });

  it('times out stalled requests and stalled downloads as retryable unavailable', async () => {
    const impatient = createElevenLabsTts({ apiKey: KEY, baseUrl: fake.url, timeoutMs: 300 });
    fake.faults.push({ delayMs: 5000 });
    await rejectsWith(impatient.synthesize(req()), { code: 'TTS_PROVIDER_UNAVAILABLE', retryable: true });

    fake.faults.push({ status: 200, headers: { 'content-type': 'audio/mpeg' }, body: Buffer.alloc(2048, 1), stallAfterBody: true });
    const r = req();
    await rejectsWith(impatient.synthesize(r), { code: 'TTS_PROVIDER_UNAVAILABLE', retryable: true });
    assert.equal(await exists(r.outputPath), false);
  });

  it('aborts an in-flight slow request promptly and rethrows the abort', async () => {
    const slow = await startFakeElevenLabs({ apiKey: KEY, latencyMs: 10_000 });
    try {
      const p = createElevenLabsTts({ apiKey: KEY, baseUrl: slow.url });
      const ac = new AbortController();
      const r = req();
      const t0 = Date.now();
      setTimeout(() => ac.abort(), 150);
      await assert.rejects(p.synthesize({ ...r, signal: ac.signal }), (err: unknown) => {
        assert.ok(!(err instanceof ProviderError));
        assert.equal(err, ac.signal.reason);
        return true;
      });
      assert.ok(Date.now() - t0 < 1500, `took ${Date.now() - t0} ms`);
      assert.equal(slow.count(TTS_PATH), 1);
      assert.equal(await exists(r.outputPath), false);
    } finally {
      await slow.close();
    }
  });
});
