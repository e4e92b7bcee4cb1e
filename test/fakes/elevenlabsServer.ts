/**
 * A loopback stand-in for the ElevenLabs text-to-speech API as the @elevenlabs/elevenlabs-js SDK
 * calls it: POST {base}/v1/text-to-speech/{voice_id}[/stream]?output_format=..., xi-api-key auth,
 * {detail:{status,message}} errors and the character-cost / request-id response headers.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { FakeAudioFormat, fakeSpeechSeconds, makeAudio, toneForVoice } from './audio';
import { FakeState, FaultQueue, LoggedRequest, applyFault, closeServer, listenLoopback, readRequest, send, splitUrl, waitUnlessGone } from './faults';

/** Per-model request limits and credits per character, as ElevenLabs documents them. */
export const ELEVENLABS_MODELS: Record<string, { maxChars: number; creditsPerChar: number }> = {
  eleven_multilingual_v2: { maxChars: 10_000, creditsPerChar: 1 },
  eleven_v3: { maxChars: 5_000, creditsPerChar: 1 },
  eleven_flash_v2_5: { maxChars: 40_000, creditsPerChar: 0.5 },
  eleven_turbo_v2_5: { maxChars: 40_000, creditsPerChar: 0.5 },
  eleven_flash_v2: { maxChars: 30_000, creditsPerChar: 0.5 },
  eleven_turbo_v2: { maxChars: 30_000, creditsPerChar: 0.5 },
  eleven_monolingual_v1: { maxChars: 10_000, creditsPerChar: 1 },
};

/** A few of ElevenLabs' premade voice ids. */
export const DEFAULT_ELEVENLABS_VOICES = ['21m00Tcm4TlvDq8ikWAM', 'EXAVITQu4vr4xnSDxMaL', 'JBFqnCBsd6RMkjVDRZzb'];

export interface FakeElevenLabs {
  /** Base URL without /v1: the SDK appends v1/... itself. */
  url: string;
  close(): Promise<void>;
  faults: FaultQueue;
  requests: LoggedRequest[];
  count(path: string): number;
  reset(): void;
}

function detail(status: string, message: string): { detail: { status: string; message: string } } {
  return { detail: { status, message } };
}

function parseOutputFormat(spec: string): { format: FakeAudioFormat; sampleRate: number; bitrateKbps?: number; contentType: string } | null {
  const mp3 = /^mp3_(\d+)_(\d+)$/.exec(spec);
  if (mp3) return { format: 'mp3', sampleRate: Number(mp3[1]), bitrateKbps: Number(mp3[2]), contentType: 'audio/mpeg' };
  const wav = /^wav_(\d+)$/.exec(spec);
  if (wav) return { format: 'wav', sampleRate: Number(wav[1]), contentType: 'audio/wav' };
  const pcm = /^pcm_(\d+)$/.exec(spec);
  if (pcm) return { format: 'pcm', sampleRate: Number(pcm[1]), contentType: 'audio/pcm' };
  return null;
}

export async function startFakeElevenLabs(opts: { latencyMs?: number; voices?: string[]; apiKey?: string } = {}): Promise<FakeElevenLabs> {
  const state = new FakeState();
  const voices = new Set(opts.voices ?? DEFAULT_ELEVENLABS_VOICES);

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      send(res, 500, detail('internal_error', `fake server error: ${String(err)}`));
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { path, query } = splitUrl(req.url);
    const { text, json } = await readRequest(req);
    state.record({ method: req.method ?? 'GET', path, query, headers: req.headers, body: json ?? text });
    const requestId = randomUUID().replace(/-/g, '');
    res.setHeader('request-id', requestId);
    res.setHeader('x-request-id', requestId);

    if (await applyFault(state, path, res, json)) return;
    if (opts.latencyMs && !(await waitUnlessGone(opts.latencyMs, res))) return;

    const key = req.headers['xi-api-key'];
    if (typeof key !== 'string' || key.length === 0) {
      send(res, 401, detail('needs_authorization', 'Neither authorization header nor xi-api-key received, please provide one.'));
      return;
    }
    if (opts.apiKey !== undefined && key !== opts.apiKey) {
      send(res, 401, detail('invalid_api_key', 'Invalid API key'));
      return;
    }

    const m = /^\/v1\/text-to-speech\/([^/]+)(\/stream)?$/.exec(path);
    if (req.method === 'POST' && m) return tts(decodeURIComponent(m[1]!), query, json, res);
    send(res, 404, { detail: 'Not Found' });
  }

  async function tts(voiceId: string, query: Record<string, string>, body: any, res: http.ServerResponse): Promise<void> {
    if (typeof body !== 'object' || body === null || typeof body.text !== 'string') {
      // FastAPI's validation shape, which is what the real API answers for a malformed body.
      send(res, 422, {
        detail: [{ type: 'missing', loc: ['body', 'text'], msg: 'Field required', input: body ?? null }],
      });
      return;
    }
    if (!voices.has(voiceId)) {
      send(res, 404, detail('voice_not_found', `A voice with voice_id ${voiceId} was not found.`));
      return;
    }
    const modelId: string = body.model_id ?? 'eleven_multilingual_v2';
    const model = ELEVENLABS_MODELS[modelId];
    if (!model) {
      send(res, 400, detail('model_not_found', `A model with model ID ${modelId} does not exist.`));
      return;
    }
    const text: string = body.text;
    const chars = [...text].length;
    if (chars === 0) {
      send(res, 400, detail('invalid_text', 'Text must not be empty.'));
      return;
    }
    if (chars > model.maxChars) {
      send(res, 400, detail('max_character_limit_exceeded', `Text is ${chars} characters; the maximum for ${modelId} is ${model.maxChars}.`));
      return;
    }
    for (const field of ['previous_text', 'next_text'] as const) {
      if (body[field] !== undefined && body[field] !== null && typeof body[field] !== 'string') {
        send(res, 422, { detail: [{ type: 'string_type', loc: ['body', field], msg: 'Input should be a valid string', input: body[field] }] });
        return;
      }
    }
    const speed = body.voice_settings?.speed ?? 1;
    if (typeof speed !== 'number' || speed < 0.7 || speed > 1.2) {
      send(res, 400, detail('invalid_voice_settings', `speed must be between 0.7 and 1.2, got ${String(speed)}.`));
      return;
    }
    const outSpec = query.output_format ?? 'mp3_44100_128';
    const out = parseOutputFormat(outSpec);
    if (!out) {
      send(res, 400, detail('invalid_output_format', `Output format ${outSpec} is not supported by this fake.`));
      return;
    }
    const audio = await makeAudio(out.format, {
      seconds: fakeSpeechSeconds(chars, speed),
      sampleRate: out.sampleRate,
      bitrateKbps: out.bitrateKbps,
      toneHz: toneForVoice(voiceId),
    });
    if (res.destroyed) return;
    res.writeHead(200, {
      'content-type': out.contentType,
      'transfer-encoding': 'chunked',
      'character-cost': String(Math.ceil(chars * model.creditsPerChar)),
      'history-item-id': randomUUID().replace(/-/g, '').slice(0, 20),
    });
    for (let off = 0; off < audio.length; off += 16 * 1024) res.write(audio.subarray(off, off + 16 * 1024));
    res.end();
  }

  const port = await listenLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => closeServer(server),
    faults: state.faults,
    requests: state.requests,
    count: (p) => state.count(p),
    reset: () => state.reset(),
  };
}
