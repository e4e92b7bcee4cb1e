import { SpanKind } from '@opentelemetry/api';
import type { Config } from '../config';
import type { Voice } from '../models';
import type { Engine } from '../script/pace';
import { inSpan, tracingEnabled } from '../tracing';
import { createOpenAiScriptLlm, type ScriptLlm } from './llm/openaiChat';
import { createElevenLabsTts } from './tts/elevenlabs';
import { createLocalTts, localVoiceFor } from './tts/local';
import { createOpenAiTts, DEFAULT_STYLE_INSTRUCTIONS } from './tts/openai';
import type { AudioFormat, TtsProvider } from './tts/types';

/**
 * Every external engine behind one registry chosen by configuration. Without keys the product
 * still works end to end: espeak-ng speaks and the local script writer writes.
 */
export interface Providers {
  local: TtsProvider;
  openai: TtsProvider | null;
  elevenlabs: TtsProvider | null;
  llm: ScriptLlm | null;
}

export function createProviders(config: Config): Providers {
  const providers = untracedProviders(config);
  return tracingEnabled(config) ? tracedProviders(providers, config) : providers;
}

function untracedProviders(config: Config): Providers {
  const timeoutMs = config.PROVIDER_TIMEOUT_MS;
  const styleInstructions = config.OPENAI_TTS_INSTRUCTIONS
    ? {
        casual: config.OPENAI_TTS_INSTRUCTIONS_CASUAL ?? DEFAULT_STYLE_INSTRUCTIONS.casual,
        formal: config.OPENAI_TTS_INSTRUCTIONS_FORMAL ?? DEFAULT_STYLE_INSTRUCTIONS.formal,
        debate: config.OPENAI_TTS_INSTRUCTIONS_DEBATE ?? DEFAULT_STYLE_INSTRUCTIONS.debate,
      }
    : undefined;
  return {
    local: createLocalTts(),
    openai: config.OPENAI_API_KEY
      ? createOpenAiTts({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL, model: config.OPENAI_TTS_MODEL, timeoutMs, styleInstructions })
      : null,
    elevenlabs: config.ELEVENLABS_API_KEY
      ? createElevenLabsTts({
          apiKey: config.ELEVENLABS_API_KEY,
          baseUrl: config.ELEVENLABS_BASE_URL,
          modelId: config.ELEVENLABS_MODEL_ID,
          timeoutMs,
          context: config.ELEVENLABS_CONTEXT,
        })
      : null,
    llm: config.OPENAI_API_KEY
      ? createOpenAiScriptLlm({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL, model: config.OPENAI_CHAT_MODEL, timeoutMs })
      : null,
  };
}

/**
 * Every provider call in a span of its own (README: operations → tracing): which engine, voice and
 * how many characters, so a slow line shows who was slow. Never the text, never a key.
 */
function tracedProviders(providers: Providers, config: Config): Providers {
  const tts = (provider: TtsProvider | null): TtsProvider | null =>
    provider && {
      name: provider.name,
      maxChars: provider.maxChars,
      ...(provider.instructionsFor ? { instructionsFor: (style: string) => provider.instructionsFor!(style) } : {}),
      synthesize: (request) =>
        inSpan(
          `tts ${provider.name}`,
          {
            'aimake.provider': provider.name,
            'aimake.voice': request.providerVoice,
            'aimake.characters': request.text.length,
            'aimake.language': request.language,
            'aimake.format': request.format,
          },
          async (span) => {
            const result = await provider.synthesize(request);
            span.setAttributes({ 'aimake.billed_characters': result.characters, 'aimake.bytes': result.bytes });
            return result;
          },
          provider.name === 'local' ? SpanKind.INTERNAL : SpanKind.CLIENT,
        ),
    };
  const llm = providers.llm;
  return {
    local: tts(providers.local)!,
    openai: tts(providers.openai),
    elevenlabs: tts(providers.elevenlabs),
    llm: llm && {
      completeJson: (args) =>
        inSpan(
          'llm openai',
          { 'aimake.provider': 'openai', 'aimake.model': config.OPENAI_CHAT_MODEL, 'aimake.schema': args.schemaName, 'aimake.repair': Boolean(args.repair) },
          async (span) => {
            const answer = await llm.completeJson(args);
            span.setAttributes({ 'aimake.prompt_tokens': answer.promptTokens, 'aimake.completion_tokens': answer.completionTokens });
            return answer;
          },
          SpanKind.CLIENT,
        ),
    },
  };
}

// ElevenLabs addresses voices by id; these are the public premade voices of the catalogue.
const ELEVENLABS_VOICE_IDS: Record<string, string> = {
  'eleven-rachel': '21m00Tcm4TlvDq8ikWAM',
  'eleven-adam': 'pNInz6obpgDQGcFmaJgB',
};

export interface ResolvedVoice {
  provider: TtsProvider;
  providerVoice: string;
  /** The catalogue voice's provider has no key here, so espeak-ng renders it instead. */
  renderedLocally: boolean;
  /** Local engines write WAV (cheap to make, stitched anyway); cloud providers send MP3. */
  format: AudioFormat;
}

/** The cloud engines this deployment has keys for. */
export interface CloudEngines {
  openai: boolean;
  elevenlabs: boolean;
}

/**
 * The one rule for who speaks a catalogue voice: its own provider when that is configured and
 * knows the voice, else espeak-ng. The worker applies it (resolveVoice), and the API sizes
 * reservations and estimates by it (src/services/estimates.ts).
 */
export function speakingEngine(voice: Pick<Voice, 'id' | 'provider'>, engines: CloudEngines): Engine {
  if (voice.provider === 'openai' && engines.openai) return 'openai';
  if (voice.provider === 'elevenlabs' && engines.elevenlabs && ELEVENLABS_VOICE_IDS[voice.id]) return 'elevenlabs';
  return 'local';
}

/** Which engine speaks a catalogue voice, and under what name. */
export function resolveVoice(providers: Providers, voice: Pick<Voice, 'id' | 'provider' | 'gender' | 'language'>, language: string): ResolvedVoice {
  const engine = speakingEngine(voice, { openai: Boolean(providers.openai), elevenlabs: Boolean(providers.elevenlabs) });
  if (engine === 'openai' && providers.openai) {
    return { provider: providers.openai, providerVoice: voice.id.replace(/^openai-/, ''), renderedLocally: false, format: 'mp3' };
  }
  if (engine === 'elevenlabs' && providers.elevenlabs) {
    return { provider: providers.elevenlabs, providerVoice: ELEVENLABS_VOICE_IDS[voice.id]!, renderedLocally: false, format: 'mp3' };
  }
  const gender = (['male', 'female', 'neutral'].includes(voice.gender ?? '') ? voice.gender : null) as 'male' | 'female' | 'neutral' | null;
  return { provider: providers.local, providerVoice: localVoiceFor(language, gender), renderedLocally: voice.provider !== 'local', format: 'wav' };
}

/** True when a voice would be spoken by its own provider (false: rendered locally instead). */
export function voiceAvailable(providers: Providers, voice: Pick<Voice, 'id' | 'provider' | 'gender' | 'language'>): boolean {
  return !resolveVoice(providers, voice, voice.language ?? 'zh-CN').renderedLocally;
}
