/**
 * A loopback stand-in for the OpenAI API that speaks the wire protocol the `openai` SDK uses
 * for POST /v1/audio/speech and POST /v1/chat/completions, with OpenAI's error shapes; or, with
 * `like: 'ollama'`, for Ollama's OpenAI-compatible chat endpoint.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { fakeSpeechSeconds, makeAudio, toneForVoice } from './audio';
import { FakeState, FaultQueue, LoggedRequest, applyFault, closeServer, listenLoopback, readRequest, send, splitUrl, waitUnlessGone } from './faults';

export const OPENAI_TTS_MODELS = ['tts-1', 'tts-1-hd', 'tts-1-1106', 'tts-1-hd-1106', 'gpt-4o-mini-tts', 'gpt-4o-mini-tts-2025-12-15'];
export const OPENAI_VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'fable', 'onyx', 'nova', 'sage', 'shimmer', 'verse', 'marin', 'cedar'];
export const OPENAI_TTS_MAX_INPUT = 4096;

const RAW_REPLY = Symbol('rawChatReply');

export interface RawChatReply {
  readonly [RAW_REPLY]: true;
  content: string | null;
  refusal?: string | null;
  finishReason?: 'stop' | 'length' | 'content_filter';
}

/** Lets a chat handler answer with text that is not the JSON of an object (or with a refusal). */
export function rawChatReply(reply: Omit<RawChatReply, typeof RAW_REPLY>): RawChatReply {
  return { [RAW_REPLY]: true, ...reply };
}

function isRawReply(v: unknown): v is RawChatReply {
  return typeof v === 'object' && v !== null && RAW_REPLY in v;
}

export type ChatHandler = (body: any) => unknown | Promise<unknown>;

/** Whether a chat request asks for a script in Chinese, as the script writer's system prompt names the language. */
export function asksForChinese(body: any): boolean {
  const system = (body?.messages ?? []).find((m: { role?: string }) => m.role === 'system');
  return /\bChinese\b/.test(String(system?.content ?? ''));
}

/** Roughly OpenAI's answer to a prompt beyond the model's context window (gpt-4o-mini: 128,000 tokens). */
const CONTEXT_TOKENS = 128_000;

export interface FakeOpenAi {
  /** Base URL including /v1, as the SDK's baseURL expects. */
  url: string;
  close(): Promise<void>;
  faults: FaultQueue;
  requests: LoggedRequest[];
  count(path: string): number;
  /** Clears faults and the request log. */
  reset(): void;
  setChatHandler(fn: ChatHandler): void;
  /** The most requests that were ever being answered at once (since the last reset). */
  maxInFlight(): number;
  /** Speech requests refused for going over maxConcurrentSpeech. */
  rateLimited(): number;
  /** The most speech requests that were ever being answered at once. */
  maxSpeechInFlight(): number;
}

function openAiError(
  message: string,
  type: string,
  param: string | null = null,
  code: string | null = null,
): { error: { message: string; type: string; param: string | null; code: string | null } } {
  return { error: { message, type, param, code } };
}

function roughTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** A small seeded generator (mulberry32), so a run's random faults can be replayed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FakeOpenAiOptions {
  latencyMs?: number;
  apiKey?: string;
  maxConcurrentSpeech?: number;
  /**
   * An unreliable provider: this fraction (0–1) of speech requests is answered, at random, half
   * with 500 and half with 429 and Retry-After: 1. Drawn from `seed`, so a run can be replayed.
   */
  speechFaultRate?: number;
  seed?: number;
  /**
   * `ollama`: behaves like Ollama's OpenAI-compatible endpoint in the versions that refuse
   * `response_format: {type: "json_schema"}` with a 400 (0.5.x: "invalid format: expected \"json\"
   * or a JSON schema"): any model name and key is taken, `json_object` is, the handler's JSON comes
   * back in a ```json fence between sentences of prose, without `usage`; no speech endpoint.
   */
  like?: 'openai' | 'ollama';
}

export async function startFakeOpenAi(opts: FakeOpenAiOptions = {}): Promise<FakeOpenAi> {
  const state = new FakeState();
  const ollama = opts.like === 'ollama';
  const random = seededRandom(opts.seed ?? 1);
  let chatHandler: ChatHandler = () => ({});
  let speechInFlight = 0;
  let rateLimited = 0;
  let maxSpeechInFlight = 0;

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      send(res, 500, openAiError(`fake server error: ${String(err)}`, 'server_error'));
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { path, query } = splitUrl(req.url);
    const { text, json } = await readRequest(req);
    state.record({ method: req.method ?? 'GET', path, query, headers: req.headers, body: json ?? text }, res);
    res.setHeader('x-request-id', `req_${randomUUID().replace(/-/g, '')}`);

    if (await applyFault(state, path, res, json)) return;
    if (opts.speechFaultRate && path === '/v1/audio/speech' && random() < opts.speechFaultRate) {
      if (random() < 0.5) send(res, 500, openAiError('The server had an error while processing your request. Sorry about that!', 'server_error'));
      else send(res, 429, openAiError('Rate limit reached for requests', 'requests', null, 'rate_limit_exceeded'), { 'retry-after': '1' });
      return;
    }
    // Like a provider's concurrency limit: requests beyond it are refused with 429 and Retry-After.
    if (opts.maxConcurrentSpeech && path === '/v1/audio/speech' && speechInFlight >= opts.maxConcurrentSpeech) {
      rateLimited += 1;
      send(res, 429, openAiError('Rate limit reached: too many concurrent requests', 'requests', null, 'rate_limit_exceeded'), { 'retry-after': '1' });
      return;
    }
    if (path === '/v1/audio/speech') {
      speechInFlight += 1;
      maxSpeechInFlight = Math.max(maxSpeechInFlight, speechInFlight);
      res.once('close', () => (speechInFlight -= 1));
    }
    if (opts.latencyMs && !(await waitUnlessGone(opts.latencyMs, res))) return;

    const auth = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(auth);
    if (!m || !m[1]!.trim()) {
      send(
        res,
        401,
        openAiError(
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
          'invalid_request_error',
        ),
      );
      return;
    }
    if (opts.apiKey !== undefined && m[1] !== opts.apiKey && !ollama) {
      send(
        res,
        401,
        openAiError(
          `Incorrect API key provided: ${m[1]!.slice(0, 3)}***. You can find your API key at https://platform.openai.com/account/api-keys.`,
          'invalid_request_error',
          null,
          'invalid_api_key',
        ),
      );
      return;
    }

    if (req.method === 'POST' && path === '/v1/audio/speech' && !ollama) return speech(json, res);
    if (req.method === 'POST' && path === '/v1/chat/completions') return chat(json, res);
    send(res, 404, openAiError(`Invalid URL (${req.method} ${path})`, 'invalid_request_error'));
  }

  async function speech(body: any, res: http.ServerResponse): Promise<void> {
    const bad = (message: string, param: string | null, code: string | null = null): void =>
      send(res, 400, openAiError(message, 'invalid_request_error', param, code));
    if (typeof body !== 'object' || body === null) return bad('We could not parse the JSON body of your request.', null);
    const { model, input, voice } = body as { model?: unknown; input?: unknown; voice?: unknown };
    const format = body.response_format ?? 'mp3';
    const speed = body.speed ?? 1;
    if (typeof model !== 'string' || !OPENAI_TTS_MODELS.includes(model)) {
      return bad(`Invalid value for 'model' = ${String(model)}. Supported models: ${OPENAI_TTS_MODELS.join(', ')}.`, 'model', 'invalid_value');
    }
    if (typeof input !== 'string' || input.length === 0) return bad("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
    if ([...input].length > OPENAI_TTS_MAX_INPUT) {
      return bad(`String should have at most ${OPENAI_TTS_MAX_INPUT} characters`, 'input', 'string_too_long');
    }
    if (typeof voice !== 'string' || !OPENAI_VOICES.includes(voice)) {
      return bad(`Invalid value: '${String(voice)}'. Supported values are: ${OPENAI_VOICES.map((v) => `'${v}'`).join(', ')}.`, 'voice', 'invalid_value');
    }
    if (typeof speed !== 'number' || !(speed >= 0.25 && speed <= 4)) {
      return bad(`Invalid 'speed': ${String(speed)}. Expected a value between 0.25 and 4.0.`, 'speed', 'invalid_value');
    }
    if (format !== 'mp3' && format !== 'wav') {
      return bad(`Invalid value: '${String(format)}'. This fake supports 'mp3' and 'wav'.`, 'response_format', 'invalid_value');
    }
    // OpenAI documents instructions as not working with tts-1 and tts-1-hd; this fake refuses them
    // there, so a client that sends them where they do nothing is caught.
    if (body.instructions !== undefined) {
      if (typeof body.instructions !== 'string' || body.instructions.length > 4096) {
        return bad("Invalid 'instructions': expected a string of at most 4096 characters.", 'instructions', 'invalid_value');
      }
      if (!model.startsWith('gpt-4o-mini-tts')) return bad(`'instructions' is not supported with model ${model}.`, 'instructions', 'unsupported_parameter');
    }
    const audio = await makeAudio(format, {
      seconds: fakeSpeechSeconds([...input].length, speed),
      sampleRate: 24000,
      toneHz: toneForVoice(voice),
    });
    if (res.destroyed) return;
    // Chunked, like the real endpoint, so clients have to stream rather than trust a length.
    res.writeHead(200, { 'content-type': format === 'mp3' ? 'audio/mpeg' : 'audio/wav', 'transfer-encoding': 'chunked' });
    for (let off = 0; off < audio.length; off += 16 * 1024) res.write(audio.subarray(off, off + 16 * 1024));
    res.end();
  }

  async function chat(body: any, res: http.ServerResponse): Promise<void> {
    const bad = (message: string, param: string | null, code: string | null = null): void =>
      send(res, 400, openAiError(message, 'invalid_request_error', param, code));
    if (typeof body !== 'object' || body === null) return bad('We could not parse the JSON body of your request.', null);
    if (typeof body.model !== 'string' || (!ollama && !/^(gpt-|o\d|chatgpt-)/.test(body.model))) {
      send(
        res,
        404,
        openAiError(`The model \`${String(body.model)}\` does not exist or you do not have access to it.`, 'invalid_request_error', null, 'model_not_found'),
      );
      return;
    }
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      return bad("Invalid 'messages': empty array. Expected an array with minimum length 1.", 'messages', 'empty_array');
    }
    const promptText = body.messages.map((m: { content?: unknown }) => String(m.content ?? '')).join('\n');
    const promptTokens = roughTokens(promptText);
    if (promptTokens > CONTEXT_TOKENS) {
      return bad(
        `This model's maximum context length is ${CONTEXT_TOKENS} tokens. However, your messages resulted in ${promptTokens} tokens. Please reduce the length of the messages.`,
        'messages',
        'context_length_exceeded',
      );
    }
    const rf = body.response_format;
    if (ollama && rf !== undefined && rf.type !== 'json_object') {
      send(res, 400, { error: { message: 'invalid format: expected "json" or a JSON schema', type: 'invalid_request_error', param: null, code: null } });
      return;
    }
    if (rf !== undefined && rf.type === 'json_schema') {
      const name = rf.json_schema?.name;
      if (typeof name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(name)) {
        return bad("Invalid 'response_format.json_schema.name'.", 'response_format.json_schema.name', 'invalid_value');
      }
      if (typeof rf.json_schema.schema !== 'object' || rf.json_schema.schema === null) {
        return bad("Missing required parameter: 'response_format.json_schema.schema'.", 'response_format.json_schema.schema');
      }
    }

    const result = await chatHandler(body);
    let content: string | null;
    let refusal: string | null = null;
    let finishReason = 'stop';
    if (isRawReply(result)) {
      content = result.content;
      refusal = result.refusal ?? null;
      finishReason = result.finishReason ?? 'stop';
    } else if (ollama) {
      content = `Sure! Here is the script {as JSON}:\n\n\`\`\`json\n${JSON.stringify(result, null, 2)}\n\`\`\`\n\nI hope this helps!`;
    } else {
      content = JSON.stringify(result);
    }
    const completionTokens = roughTokens(content ?? refusal ?? '');
    if (ollama) {
      send(res, 200, {
        id: `chatcmpl-${Math.floor(Math.random() * 1000)}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        system_fingerprint: 'fp_ollama',
        choices: [{ index: 0, message: { role: 'assistant', content: content ?? '' }, finish_reason: finishReason }],
      });
      return;
    }
    send(res, 200, {
      id: `chatcmpl-${randomUUID().replace(/-/g, '').slice(0, 24)}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content, refusal, annotations: [] },
          logprobs: null,
          finish_reason: finishReason,
        },
      ],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: 0,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
      service_tier: 'default',
      system_fingerprint: 'fp_fake',
    });
  }

  const port = await listenLoopback(server);
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close: () => closeServer(server),
    faults: state.faults,
    requests: state.requests,
    count: (p) => state.count(p),
    reset: () => state.reset(),
    setChatHandler: (fn) => {
      chatHandler = fn;
    },
    maxInFlight: () => state.maxInFlight,
    rateLimited: () => rateLimited,
    maxSpeechInFlight: () => maxSpeechInFlight,
  };
}
