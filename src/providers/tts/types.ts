/**
 * The contract every text-to-speech provider implements. Providers write audio straight to a
 * file so that long jobs never hold whole recordings in memory, and they classify their own
 * failures so that activities know whether a retry can help.
 */
export type AudioFormat = 'mp3' | 'wav';
export type ProviderName = 'local' | 'openai' | 'elevenlabs';

export interface SynthesisRequest {
  /** Text of one line or chunk; never longer than the provider's maxChars. */
  text: string;
  /** The provider's own voice name/id (e.g. 'alloy', an ElevenLabs voice id, an espeak-ng voice). */
  providerVoice: string;
  /** BCP 47-ish language tag of the text, e.g. 'zh-CN' or 'en-US'. */
  language: string;
  /** 0.5–2.0, 1.0 is normal speed. */
  speed: number;
  format: AudioFormat;
  /** Where to write the audio. The provider creates or overwrites this file. */
  outputPath: string;
  /** Aborts the request (activity cancellation). */
  signal?: AbortSignal;
  /** How to speak, from the provider's instructionsFor (OpenAI gpt-4o-mini-tts); others ignore it. */
  instructions?: string;
  /**
   * The same voice's text just before and after this one, not spoken: engines that can (ElevenLabs)
   * carry the intonation across, so separately requested lines flow like one reading.
   */
  previousText?: string;
  nextText?: string;
}

export interface SynthesisResult {
  /** Bytes written to outputPath. */
  bytes: number;
  /** Characters billed by the provider. */
  characters: number;
  /** What the provider charged in US dollars, when known. */
  apiCost: number | null;
}

export interface TtsProvider {
  readonly name: ProviderName;
  /** Longest text one request may carry. */
  readonly maxChars: number;
  synthesize(request: SynthesisRequest): Promise<SynthesisResult>;
  /**
   * The delivery instructions this provider would send for a podcast style, or undefined when its
   * model takes none (or they are turned off). They change the sound, so they are part of a line's hash.
   */
  instructionsFor?(style: string): string | undefined;
}

/**
 * A provider failure, classified. `retryable` failures (rate limits, 5xx, timeouts, network) are
 * retried with backoff, honouring retryAfterMs when the provider sent Retry-After; the rest
 * (invalid input, unknown voice, content rejected, bad credentials) fail the job at once.
 */
export class ProviderError extends Error {
  constructor(
    /** Stable machine-readable code, stored as podcast_jobs.error_code, e.g. 'TTS_RATE_LIMITED'. */
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}
