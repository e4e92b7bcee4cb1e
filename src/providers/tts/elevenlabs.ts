/**
 * ElevenLabs text-to-speech through the official @elevenlabs/elevenlabs-js SDK. Uses
 * textToSpeech.convert(...).withRawResponse() because the billed character count only arrives
 * in the `character-cost` response header.
 */
import { ElevenLabs, ElevenLabsClient, ElevenLabsError, ElevenLabsTimeoutError } from '@elevenlabs/elevenlabs-js';
import { ProviderError, SynthesisRequest, SynthesisResult, TtsProvider } from './types';
import { abortOrTimeout, classifyStatus, countChars, parseRetryAfterMs, startDeadline, writeBodyToFile } from './openai';

export interface ElevenLabsTtsOptions {
  apiKey: string;
  /** API origin without /v1 (the SDK appends v1/...); default https://api.elevenlabs.io. */
  baseUrl?: string;
  /** Default 'eleven_multilingual_v2'. */
  modelId?: string;
  /** Whole request, including downloading the audio. Default 120 s. */
  timeoutMs?: number;
  /** US dollars per 1,000 billed characters (credits); default 0.30. Depends on the plan. */
  pricePer1kChars?: number;
  /** Send the neighbouring text (previous_text / next_text) for continuity; default true. */
  context?: boolean;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_PRICE_PER_1K = 0.3;

/** Longest text one request may carry, per ElevenLabs' model documentation. */
export function elevenLabsMaxChars(modelId: string): number {
  if (/^eleven_(flash|turbo)_v2_5/.test(modelId)) return 40_000;
  if (/^eleven_(flash|turbo)_v2/.test(modelId)) return 30_000;
  if (/flash|turbo/.test(modelId)) return 40_000;
  if (/^eleven_v3/.test(modelId)) return 5_000;
  return 10_000;
}

/**
 * Only some models accept language_code (multilingual v2 rejects or ignores it), and they want
 * ISO 639-1, so 'zh-CN' becomes 'zh'.
 */
function languageCodeFor(modelId: string, language: string): string | undefined {
  if (!/v2_5|^eleven_v3/.test(modelId)) return undefined;
  const primary = language.split(/[-_]/)[0]?.toLowerCase();
  return primary && /^[a-z]{2}$/.test(primary) ? primary : undefined;
}

/** "Request stitching is not available for the eleven_v3 model" (ElevenLabs' request-stitching guide). */
const takesContext = (modelId: string) => !/^eleven_v3/.test(modelId);

/** Context nearest the line is what carries the intonation; more only costs request size. */
export const ELEVENLABS_CONTEXT_CHARS = 1000;
const tail = (s: string, n: number) => [...s].slice(-n).join('');
const head = (s: string, n: number) => [...s].slice(0, n).join('');

interface ElevenLabsDetail {
  status?: string;
  message?: string;
}

/** ElevenLabs answers {detail:{status,message}}, or FastAPI's {detail:[{loc,msg}]} for 422. */
function readDetail(body: unknown): { status?: string; message: string } {
  if (typeof body === 'string') return { message: body };
  const d = (body as { detail?: unknown } | null | undefined)?.detail;
  if (typeof d === 'string') return { message: d };
  if (Array.isArray(d)) {
    const parts = d.map((item: { loc?: unknown[]; msg?: unknown }) => {
      const loc = Array.isArray(item?.loc) ? item.loc.join('.') : '';
      return loc ? `${loc}: ${String(item?.msg)}` : String(item?.msg);
    });
    return { message: parts.join('; ') || 'validation error' };
  }
  if (d && typeof d === 'object') {
    const { status, message } = d as ElevenLabsDetail;
    return { status, message: message ?? status ?? JSON.stringify(d) };
  }
  return { message: body === undefined ? 'no response body' : JSON.stringify(body) };
}

function classifyElevenLabsError(err: unknown, callerSignal: AbortSignal | undefined, deadline: ReturnType<typeof startDeadline>): unknown {
  const early = abortOrTimeout(err, 'TTS', callerSignal, deadline);
  if (early !== undefined) return early;
  if (err instanceof ElevenLabsTimeoutError) {
    return new ProviderError('TTS_PROVIDER_UNAVAILABLE', 'ElevenLabs request timed out', true);
  }
  if (!(err instanceof ElevenLabsError)) return err;
  const status = err.statusCode;
  if (status === undefined) {
    // No HTTP status: connection refused/reset, DNS, TLS. The SDK hides the cause in .cause.
    const cause = err.cause as { message?: string; cause?: { message?: string } } | undefined;
    const why = cause?.cause?.message ?? cause?.message ?? err.message;
    return new ProviderError('TTS_PROVIDER_UNAVAILABLE', `ElevenLabs unreachable: ${why}`, true);
  }
  const { status: detailStatus, message } = readDetail(err.body);
  const text = detailStatus && !message.includes(detailStatus) ? `${detailStatus}: ${message}` : message;
  if (detailStatus === 'voice_not_found') {
    return new ProviderError('TTS_UNKNOWN_VOICE', `${status}: ${text}`, false, undefined, status);
  }
  // Out of credits comes back as 401, but it is a billing problem, not a bad key.
  if (detailStatus === 'quota_exceeded') {
    return new ProviderError('TTS_QUOTA_EXCEEDED', `${status}: ${text}`, false, undefined, status);
  }
  // Both too_many_concurrent_requests and system_busy are 429s and clear with time.
  return classifyStatus('TTS', status, text, parseRetryAfterMs(err.rawResponse?.headers), err);
}

export function createElevenLabsTts(opts: ElevenLabsTtsOptions): TtsProvider {
  const modelId = opts.modelId ?? 'eleven_multilingual_v2';
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pricePer1k = opts.pricePer1kChars ?? DEFAULT_PRICE_PER_1K;
  const maxChars = elevenLabsMaxChars(modelId);
  const sendContext = (opts.context ?? true) && takesContext(modelId);
  // Retries belong to the Temporal activity, which sees the classified error and Retry-After.
  const client = new ElevenLabsClient({
    apiKey: opts.apiKey,
    baseUrl: opts.baseUrl,
    maxRetries: 0,
    timeoutInSeconds: Math.ceil(timeoutMs / 1000),
  });

  return {
    name: 'elevenlabs',
    maxChars,
    async synthesize(req: SynthesisRequest): Promise<SynthesisResult> {
      if (req.signal?.aborted) throw req.signal.reason;
      if (req.text.trim().length === 0) {
        throw new ProviderError('TTS_INVALID_REQUEST', 'text is empty', false);
      }
      // UTF-16 length is never below the provider's count, so this check is on the safe side.
      if (req.text.length > maxChars) {
        throw new ProviderError('TTS_INVALID_REQUEST', `text is ${req.text.length} characters; ${modelId} accepts at most ${maxChars}`, false);
      }
      // ElevenLabs' speed range is 0.7–1.2. Voice settings are only sent when they change
      // something, so that a voice's stored stability/similarity settings stay in effect.
      const speed = Number.isFinite(req.speed) ? Math.min(1.2, Math.max(0.7, req.speed)) : 1;
      const body: ElevenLabs.BodyTextToSpeechFull = {
        text: req.text,
        modelId,
        // pcm_* is headerless; wav_* is a real RIFF file.
        outputFormat: req.format === 'wav' ? 'wav_44100' : 'mp3_44100_128',
      };
      // Keys are only set when used: the SDK serialises an explicit undefined as JSON null.
      if (Math.abs(speed - 1) > 1e-6) body.voiceSettings = { speed };
      const languageCode = languageCodeFor(modelId, req.language);
      if (languageCode) body.languageCode = languageCode;
      if (sendContext && req.previousText?.trim()) body.previousText = tail(req.previousText, ELEVENLABS_CONTEXT_CHARS);
      if (sendContext && req.nextText?.trim()) body.nextText = head(req.nextText, ELEVENLABS_CONTEXT_CHARS);
      const deadline = startDeadline(timeoutMs, req.signal);
      try {
        const { data, rawResponse } = await client.textToSpeech
          .convert(req.providerVoice, body, { abortSignal: deadline.signal, maxRetries: 0, timeoutInSeconds: Math.ceil(timeoutMs / 1000) })
          .withRawResponse();
        const bytes = await writeBodyToFile(data, req.outputPath);
        const header = rawResponse.headers.get('character-cost');
        const billed = header !== null && /^\s*\d+\s*$/.test(header) ? Number(header) : countChars(req.text);
        return {
          bytes,
          characters: billed,
          apiCost: Math.round(((billed * pricePer1k) / 1000) * 1e9) / 1e9,
        };
      } catch (err) {
        throw classifyElevenLabsError(err, req.signal, deadline);
      } finally {
        deadline.dispose();
      }
    },
  };
}
