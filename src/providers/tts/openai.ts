/**
 * OpenAI text-to-speech through the official `openai` SDK. Also home to the small helpers the
 * other HTTP providers share (Retry-After parsing, an overall deadline, streaming a response body
 * to a file), so that every provider classifies failures the same way.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import OpenAI from 'openai';
import { ProviderError, SynthesisRequest, SynthesisResult, TtsProvider } from './types';

export interface OpenAiTtsOptions {
  apiKey: string;
  baseURL?: string;
  /** 'tts-1' (default), 'tts-1-hd', 'gpt-4o-mini-tts', ... */
  model?: string;
  /** Whole request, including downloading the audio. Default 120 s. */
  timeoutMs?: number;
  /** Delivery instructions per podcast style; sent only to models that take them. Unset: none. */
  styleInstructions?: Record<string, string>;
}

export const OPENAI_TTS_MAX_CHARS = 4096;

/** Only the gpt-4o-mini-tts family follows `instructions`; tts-1 and tts-1-hd do not take them. */
export const openAiModelTakesInstructions = (model: string) => /^gpt-4o-mini-tts/.test(model);

/** How each podcast style is spoken by default (OPENAI_TTS_INSTRUCTIONS_* override them). */
export const DEFAULT_STYLE_INSTRUCTIONS: Record<'casual' | 'formal' | 'debate', string> = {
  casual: 'Warm, relaxed and conversational, like friends chatting on a podcast: a natural pace, easy pauses, a smile in the voice.',
  formal: 'Clear, composed and professional, like a well-prepared radio programme: a measured pace, precise articulation, calm authority.',
  debate: 'Engaged and persuasive, like a lively but respectful debate: confident emphasis on the key points, an energetic pace.',
};
const DEFAULT_TTS_TIMEOUT_MS = 120_000;

/** US dollars per input character; a fixed table because the API does not report prices. */
const OPENAI_TTS_PRICE_PER_CHAR: Record<string, number> = {
  'tts-1': 15 / 1_000_000,
  'tts-1-hd': 30 / 1_000_000,
  'gpt-4o-mini-tts': 12 / 1_000_000,
};

/** What OpenAI charges for this many characters, or null when the model's price is unknown. */
export function openAiTtsCost(model: string, characters: number): number | null {
  const price = OPENAI_TTS_PRICE_PER_CHAR[model];
  if (price === undefined) return null;
  // Rounded to a nano-dollar so sums stored in the database are not full of float noise.
  return Math.round(characters * price * 1e9) / 1e9;
}

// ---------------------------------------------------------------------------------------------
// Shared helpers for HTTP providers.

export interface HeaderBag {
  get(name: string): string | null;
}

/**
 * How long the provider asked us to wait: retry-after-ms (OpenAI's non-standard, more precise
 * header) wins over Retry-After, which may be delta-seconds or an HTTP date.
 */
export function parseRetryAfterMs(headers: HeaderBag | null | undefined, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return Math.round(n);
  }
  const ra = headers.get('retry-after');
  if (ra === null || ra.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) return Math.round(Number(ra) * 1000);
  const at = Date.parse(ra);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * A timer covering the whole request. The SDKs' own timeouts stop at the response headers, so a
 * stalled audio download would otherwise hang an activity until its heartbeat times out.
 */
export interface Deadline {
  /** Aborts when the caller aborts or the deadline passes; hand this to the SDK. */
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  timedOut(): boolean;
  dispose(): void;
}

export function startDeadline(timeoutMs: number, outer?: AbortSignal): Deadline {
  const controller = new AbortController();
  let expired = false;
  const onOuterAbort = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new DOMException(`Timed out after ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  return {
    signal: controller.signal,
    timeoutMs,
    timedOut: () => expired && !outer?.aborted,
    dispose: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    },
  };
}

/** A failure while reading the response body, as opposed to writing the file. */
export class BodyReadError extends Error {
  constructor(cause: unknown) {
    super(`audio download failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'BodyReadError';
  }
}

async function* readChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      let r: Awaited<ReturnType<typeof reader.read>>;
      try {
        r = await reader.read();
      } catch (err) {
        throw new BodyReadError(err);
      }
      if (r.done) return;
      yield r.value;
    }
  } finally {
    // Frees the connection when the file side failed first; harmless after a clean end.
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * Streams a response body into outputPath via a temporary sibling that is renamed into place, so
 * a failed or aborted download never leaves a truncated file where a finished one is expected.
 * Returns the bytes written. File-system errors propagate unchanged; read errors as BodyReadError.
 */
export async function writeBodyToFile(body: ReadableStream<Uint8Array> | null, outputPath: string): Promise<number> {
  if (!body) throw new BodyReadError(new Error('response had no body'));
  const tmp = `${outputPath}.${process.pid}.${randomUUID().slice(0, 8)}.part`;
  try {
    await pipeline(readChunks(body), createWriteStream(tmp));
    const { size } = await fs.stat(tmp);
    if (size === 0) throw new BodyReadError(new Error('provider returned empty audio'));
    await fs.rename(tmp, outputPath);
    return size;
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Characters as a person (and the providers' billing) counts them, not UTF-16 units. */
export function countChars(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

export type ErrorPrefix = 'TTS' | 'LLM';

function withCause(err: ProviderError, cause: unknown): ProviderError {
  (err as { cause?: unknown }).cause = cause;
  return err;
}

/**
 * The error to throw for a failed request. A caller abort comes back as the signal's own reason
 * (for Temporal, its CancelledFailure) rather than a ProviderError, so cancellation is never
 * mistaken for a provider fault; unrecognised errors (bugs, disk full) are returned unchanged.
 */
export function abortOrTimeout(err: unknown, prefix: ErrorPrefix, callerSignal: AbortSignal | undefined, deadline: Deadline): unknown | undefined {
  if (callerSignal?.aborted) return callerSignal.reason ?? err;
  if (deadline.timedOut()) {
    return withCause(new ProviderError(`${prefix}_PROVIDER_UNAVAILABLE`, `request timed out after ${deadline.timeoutMs} ms`, true), err);
  }
  if (err instanceof ProviderError) return err;
  if (err instanceof BodyReadError) {
    return withCause(new ProviderError(`${prefix}_PROVIDER_UNAVAILABLE`, err.message, true), err);
  }
  return undefined;
}

/** Classifies an HTTP status the way all providers agree on. */
export function classifyStatus(prefix: ErrorPrefix, status: number, providerMessage: string, retryAfterMs: number | undefined, cause: unknown): ProviderError {
  const msg = `${status}: ${providerMessage}`;
  let e: ProviderError;
  if (status === 429) e = new ProviderError(`${prefix}_RATE_LIMITED`, msg, true, retryAfterMs, status);
  else if (status === 401 || status === 403) e = new ProviderError(`${prefix}_AUTH_FAILED`, msg, false, undefined, status);
  else if (status === 408 || status === 409 || status >= 500) {
    e = new ProviderError(`${prefix}_PROVIDER_UNAVAILABLE`, msg, true, retryAfterMs, status);
  } else e = new ProviderError(`${prefix}_INVALID_REQUEST`, msg, false, undefined, status);
  return withCause(e, cause);
}

/** Maps anything the openai SDK (or our streaming) threw to what the caller should see. */
export function classifyOpenAiError(err: unknown, prefix: ErrorPrefix, callerSignal: AbortSignal | undefined, deadline: Deadline): unknown {
  const early = abortOrTimeout(err, prefix, callerSignal, deadline);
  if (early !== undefined) return early;
  if (err instanceof OpenAI.APIUserAbortError) return err;
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return withCause(new ProviderError(`${prefix}_PROVIDER_UNAVAILABLE`, 'request timed out', true), err);
  }
  if (err instanceof OpenAI.APIConnectionError) {
    const cause = (err as { cause?: unknown }).cause;
    const detail = cause instanceof Error ? ` (${(cause as { cause?: Error }).cause?.message ?? cause.message})` : '';
    return withCause(new ProviderError(`${prefix}_PROVIDER_UNAVAILABLE`, `${err.message}${detail}`, true), err);
  }
  if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
    const body = err.error as { message?: unknown; code?: unknown } | undefined;
    const providerMessage = typeof body?.message === 'string' ? body.message : err.message;
    // A 429 for an exhausted balance will not clear by waiting.
    if (err.status === 429 && (err.code === 'insufficient_quota' || body?.code === 'insufficient_quota')) {
      return withCause(new ProviderError(`${prefix}_QUOTA_EXCEEDED`, `429: ${providerMessage}`, false, undefined, 429), err);
    }
    return classifyStatus(prefix, err.status, providerMessage, parseRetryAfterMs(err.headers), err);
  }
  return err;
}

// ---------------------------------------------------------------------------------------------

export function createOpenAiTts(opts: OpenAiTtsOptions): TtsProvider {
  const model = opts.model ?? 'tts-1';
  // The SDK insists on a positive integer.
  const timeoutMs = Math.max(1, Math.round(opts.timeoutMs ?? DEFAULT_TTS_TIMEOUT_MS));
  // Retries belong to the Temporal activity, which sees the classified error and Retry-After.
  const client = new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseURL, maxRetries: 0, timeout: timeoutMs });
  const takesInstructions = openAiModelTakesInstructions(model);

  return {
    name: 'openai',
    maxChars: OPENAI_TTS_MAX_CHARS,
    instructionsFor: (style) => (takesInstructions ? opts.styleInstructions?.[style] : undefined),
    async synthesize(req: SynthesisRequest): Promise<SynthesisResult> {
      if (req.signal?.aborted) throw req.signal.reason;
      const characters = countChars(req.text);
      if (req.text.trim().length === 0) {
        throw new ProviderError('TTS_INVALID_REQUEST', 'text is empty', false);
      }
      if (req.text.length > OPENAI_TTS_MAX_CHARS) {
        throw new ProviderError('TTS_INVALID_REQUEST', `text is ${req.text.length} characters; OpenAI accepts at most ${OPENAI_TTS_MAX_CHARS}`, false);
      }
      const speed = Number.isFinite(req.speed) ? Math.min(4, Math.max(0.25, req.speed)) : 1;
      const deadline = startDeadline(timeoutMs, req.signal);
      try {
        const response = await client.audio.speech.create(
          {
            model,
            input: req.text,
            voice: req.providerVoice,
            response_format: req.format,
            speed,
            // Only set when used: other models refuse the field.
            ...(takesInstructions && req.instructions ? { instructions: req.instructions } : {}),
          },
          { signal: deadline.signal, maxRetries: 0, timeout: timeoutMs },
        );
        const bytes = await writeBodyToFile(response.body, req.outputPath);
        return { bytes, characters, apiCost: openAiTtsCost(model, characters) };
      } catch (err) {
        throw classifyOpenAiError(err, 'TTS', req.signal, deadline);
      } finally {
        deadline.dispose();
      }
    },
  };
}
