import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createOpenAiTts, openAiTtsCost, parseRetryAfterMs } from '../../src/providers/tts/openai';
import { ProviderError, SynthesisRequest, TtsProvider } from '../../src/providers/tts/types';
import { fakeSpeechSeconds, probeAudio } from '../fakes/audio';
import { FakeOpenAi, startFakeOpenAi } from '../fakes/openaiServer';
import { rejectsWith, exists } from '../helpers/providerAssertions';

const KEY = 'sk-test-good';

describe('OpenAI TTS provider (real SDK against a loopback fake)', () => {
  let fake: FakeOpenAi;
  let tts: TtsProvider;
  let dir: string;

  before(async () => {
    fake = await startFakeOpenAi({ apiKey: KEY });
    tts = createOpenAiTts({ apiKey: KEY, baseURL: fake.url, timeoutMs: 10_000 });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'openai-tts-test-'));
  });
  after(async () => {
    await fake.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => fake.reset());

  function req(over: Partial<SynthesisRequest> = {}): SynthesisRequest {
    return {
      text: 'Hello there, this is a test of the fake speech.',
      providerVoice: 'alloy',
      language: 'en-US',
      speed: 1,
      format: 'mp3',
      outputPath: path.join(dir, `out-${Math.random().toString(36).slice(2)}.mp3`),
      ...over,
    };
  }

  it('advertises its name and the API input limit', () => {
    assert.equal(tts.name, 'openai');
    assert.equal(tts.maxChars, 4096);
  });

  it('writes a decodable mp3 whose duration matches the text, and prices it', async () => {
    const r = req();
    const result = await tts.synthesize(r);
    const stat = await fs.stat(r.outputPath);
    assert.equal(result.bytes, stat.size);
    assert.equal(result.characters, r.text.length);
    assert.equal(result.apiCost, openAiTtsCost('tts-1', r.text.length));
    assert.ok(Math.abs(result.apiCost! - r.text.length * 15e-6) < 1e-12);

    const probe = await probeAudio(r.outputPath);
    assert.equal(probe.codecName, 'mp3');
    const expected = fakeSpeechSeconds(r.text.length);
    assert.ok(Math.abs(probe.durationSec - expected) < 0.1, `duration ${probe.durationSec} vs ${expected}`);

    assert.equal(fake.count('/v1/audio/speech'), 1);
    const body = fake.requests[0]!.body;
    assert.deepEqual(
      { model: body.model, input: body.input, voice: body.voice, response_format: body.response_format, speed: body.speed },
      { model: 'tts-1', input: r.text, voice: 'alloy', response_format: 'mp3', speed: 1 },
    );
    assert.equal(fake.requests[0]!.headers.authorization, `Bearer ${KEY}`);
    // No partial files are left next to the output.
    assert.deepEqual(
      (await fs.readdir(dir)).filter((f) => f.endsWith('.part')),
      [],
    );
  });

  it('writes wav when asked, counts characters not UTF-16 units, and overwrites', async () => {
    const r = req({ format: 'wav', text: '你好，世界。这是一个测试。😀', outputPath: path.join(dir, 'zh.wav') });
    await fs.writeFile(r.outputPath, 'stale');
    const result = await tts.synthesize(r);
    const chars = [...r.text].length;
    assert.equal(result.characters, chars);
    const probe = await probeAudio(r.outputPath);
    assert.equal(probe.formatName, 'wav');
    assert.equal(probe.codecName, 'pcm_s16le');
    assert.ok(Math.abs(probe.durationSec - fakeSpeechSeconds(chars)) < 0.01);
    assert.equal(fake.requests[0]!.body.response_format, 'wav');
  });

  it('clamps speed to the API range and changes the duration accordingly', async () => {
    const fast = req({ speed: 9 });
    await tts.synthesize(fast);
    const slow = req({ speed: 0.1 });
    await tts.synthesize(slow);
    assert.deepEqual(
      fake.requests.map((r) => r.body.speed),
      [4, 0.25],
    );
    const probe = await probeAudio(fast.outputPath);
    assert.ok(Math.abs(probe.durationSec - fakeSpeechSeconds(fast.text.length, 4)) < 0.1);
  });

  it('prices models from the fixed table and returns null for unknown ones', async () => {
    const hd = createOpenAiTts({ apiKey: KEY, baseURL: fake.url, model: 'gpt-4o-mini-tts' });
    const result = await hd.synthesize(req({ text: 'x'.repeat(1000) }));
    assert.ok(Math.abs(result.apiCost! - 0.012) < 1e-12);
    assert.equal(fake.requests[0]!.body.model, 'gpt-4o-mini-tts');
    assert.ok(Math.abs(openAiTtsCost('tts-1-hd', 1_000_000)! - 30) < 1e-9);
    assert.equal(openAiTtsCost('some-future-model', 100), null);
  });

  it("sends a style's delivery instructions to gpt-4o-mini-tts only", async () => {
    const styleInstructions = { debate: 'Argue with energy.' };
    const mini = createOpenAiTts({ apiKey: KEY, baseURL: fake.url, model: 'gpt-4o-mini-tts', styleInstructions });
    const classic = createOpenAiTts({ apiKey: KEY, baseURL: fake.url, model: 'tts-1', styleInstructions });
    assert.equal(mini.instructionsFor?.('debate'), 'Argue with energy.');
    assert.equal(mini.instructionsFor?.('formal'), undefined, 'a style without instructions gets none');
    assert.equal(classic.instructionsFor?.('debate'), undefined, 'tts-1 takes no instructions');

    await mini.synthesize(req({ instructions: 'Argue with energy.' }));
    // Asked anyway, tts-1 leaves them out (the fake, like the docs, refuses them there).
    await classic.synthesize(req({ instructions: 'Argue with energy.' }));
    assert.deepEqual(
      fake.requests.map((r) => [r.body.model, r.body.instructions]),
      [
        ['gpt-4o-mini-tts', 'Argue with energy.'],
        ['tts-1', undefined],
      ],
    );
  });

  it('maps 429 with Retry-After seconds to a retryable rate limit, without SDK retries', async () => {
    fake.faults.push({
      status: 429,
      headers: { 'retry-after': '2' },
      body: { error: { message: 'Rate limit reached for tts-1', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
    });
    const r = req();
    const e = await rejectsWith(tts.synthesize(r), {
      code: 'TTS_RATE_LIMITED',
      retryable: true,
      retryAfterMs: 2000,
      status: 429,
    });
    assert.match(e.message, /Rate limit reached/);
    assert.equal(fake.count('/v1/audio/speech'), 1);
    assert.equal(await exists(r.outputPath), false);
  });

  it('honours retry-after-ms and HTTP-date Retry-After', async () => {
    fake.faults.push({ status: 429, headers: { 'retry-after-ms': '1500', 'retry-after': '9' }, body: { error: { message: 'slow down' } } });
    await rejectsWith(tts.synthesize(req()), { code: 'TTS_RATE_LIMITED', retryAfterMs: 1500 });

    const when = new Date(Date.now() + 30_000).toUTCString();
    fake.faults.push({ status: 429, headers: { 'retry-after': when }, body: { error: { message: 'slow down' } } });
    const e = await rejectsWith(tts.synthesize(req()), { code: 'TTS_RATE_LIMITED', retryable: true });
    assert.ok(e.retryAfterMs! > 25_000 && e.retryAfterMs! <= 30_000, String(e.retryAfterMs));

    const h = new Headers({ 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' });
    assert.equal(parseRetryAfterMs(h, Date.parse('Wed, 21 Oct 2015 07:27:58 GMT')), 2000);
    assert.equal(parseRetryAfterMs(new Headers({ 'retry-after': 'soon' })), undefined);
    assert.equal(parseRetryAfterMs(new Headers()), undefined);
  });

  it('treats a 429 for an exhausted balance as not retryable', async () => {
    fake.faults.push({
      status: 429,
      body: { error: { message: 'You exceeded your current quota', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } },
    });
    await rejectsWith(tts.synthesize(req()), { code: 'TTS_QUOTA_EXCEEDED', retryable: false });
  });

  it('maps 500 to a retryable unavailable error, without SDK retries', async () => {
    fake.faults.push({ status: 500, body: { error: { message: 'The server had an error', type: 'server_error', param: null, code: null } } });
    await rejectsWith(tts.synthesize(req()), { code: 'TTS_PROVIDER_UNAVAILABLE', retryable: true, status: 500 });
    assert.equal(fake.count('/v1/audio/speech'), 1);
    // The fault is used up: the next call succeeds.
    await tts.synthesize(req());
  });

  it('maps a real 400 from the API (unknown voice) to a non-retryable invalid request with its message', async () => {
    const e = await rejectsWith(tts.synthesize(req({ providerVoice: 'nonexistent' })), {
      code: 'TTS_INVALID_REQUEST',
      retryable: false,
      status: 400,
    });
    assert.match(e.message, /Invalid value: 'nonexistent'/);
  });

  it('rejects over-long and empty text locally without calling the API', async () => {
    await rejectsWith(tts.synthesize(req({ text: 'a'.repeat(4097) })), { code: 'TTS_INVALID_REQUEST', retryable: false });
    await rejectsWith(tts.synthesize(req({ text: '   ' })), { code: 'TTS_INVALID_REQUEST', retryable: false });
    assert.equal(fake.count('/v1/audio/speech'), 0);
    // Exactly at the limit is fine.
    await tts.synthesize(req({ text: 'a'.repeat(4096) }));
  });

  it('maps a wrong key to a non-retryable auth failure', async () => {
    const bad = createOpenAiTts({ apiKey: 'sk-wrong', baseURL: fake.url });
    const e = await rejectsWith(bad.synthesize(req()), { code: 'TTS_AUTH_FAILED', retryable: false, status: 401 });
    assert.match(e.message, /Incorrect API key/);
  });

  it('maps a dropped connection and a refused connection to retryable unavailable', async () => {
    fake.faults.push({ dropConnection: true });
    await rejectsWith(tts.synthesize(req()), { code: 'TTS_PROVIDER_UNAVAILABLE', retryable: true });

    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const nowhere = createOpenAiTts({ apiKey: KEY, baseURL: `http://127.0.0.1:${port}/v1` });
    await rejectsWith(nowhere.synthesize(req()), { code: 'TTS_PROVIDER_UNAVAILABLE', retryable: true });
  });

  it('times out a stalled request as retryable unavailable', async () => {
    fake.faults.push({ delayMs: 5000 });
    const impatient = createOpenAiTts({ apiKey: KEY, baseURL: fake.url, timeoutMs: 300 });
    const t0 = Date.now();
    const e = await rejectsWith(impatient.synthesize(req()), { code: 'TTS_PROVIDER_UNAVAILABLE', retryable: true });
    assert.match(e.message, /timed out/);
    assert.ok(Date.now() - t0 < 2000);
  });

  it('times out a download that stalls after the headers, leaving no partial file', async () => {
    fake.faults.push({ status: 200, headers: { 'content-type': 'audio/mpeg' }, body: Buffer.alloc(4096, 1), stallAfterBody: true });
    const impatient = createOpenAiTts({ apiKey: KEY, baseURL: fake.url, timeoutMs: 400 });
    const r = req();
    await rejectsWith(impatient.synthesize(r), { code: 'TTS_PROVIDER_UNAVAILABLE', retryable: true });
    assert.equal(await exists(r.outputPath), false);
    assert.deepEqual(
      (await fs.readdir(dir)).filter((f) => f.endsWith('.part')),
      [],
    );
  });

  it('aborts mid-download as the abort, not as a provider error', async () => {
    fake.faults.push({ status: 200, headers: { 'content-type': 'audio/mpeg' }, body: Buffer.alloc(4096, 1), stallAfterBody: true });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const r = req();
    await assert.rejects(tts.synthesize({ ...r, signal: ac.signal }), (err: unknown) => err === ac.signal.reason);
    assert.equal(await exists(r.outputPath), false);
  });

  it('aborts an in-flight slow request promptly and rethrows the abort, leaving no file', async () => {
    fake.faults.push({ delayMs: 10_000 });
    const ac = new AbortController();
    const r = req();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 150);
    let caught: unknown;
    await assert.rejects(tts.synthesize({ ...r, signal: ac.signal }), (err: unknown) => {
      caught = err;
      return true;
    });
    assert.ok(Date.now() - t0 < 1500, `took ${Date.now() - t0} ms`);
    assert.ok(!(caught instanceof ProviderError));
    assert.equal(caught, ac.signal.reason);
    assert.equal((caught as Error).name, 'AbortError');
    assert.equal(await exists(r.outputPath), false);

    // A caller-supplied reason (e.g. Temporal's CancelledFailure) comes back unchanged.
    const ac2 = new AbortController();
    const reason = new Error('activity cancelled');
    fake.faults.push({ delayMs: 10_000 });
    setTimeout(() => ac2.abort(reason), 100);
    await assert.rejects(tts.synthesize({ ...req(), signal: ac2.signal }), (err: unknown) => err === reason);
  });
});
