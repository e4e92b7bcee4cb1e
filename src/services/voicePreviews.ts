import crypto from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import type { Knex } from 'knex';
import type { voicePreviewWorkflow } from '../../workflows/voicePreview';
import type { VoicePreviewInput } from '../../workflows/types';
import type { Config } from '../config';
import { notFound, unavailable } from '../errors';
import type { Logger } from '../logger';
import type { Voice } from '../models';
import type { Storage } from '../storage/types';
import type { TemporalGateway } from '../temporal/client';

/**
 * Preview samples of the catalogue voices: one sentence in the voice's language, spoken by the
 * engine that speaks the voice on this server, made on first use by a workflow in the worker
 * (where the providers are) and kept in storage. The storage key and the workflow id carry a hash
 * of the voice, engine, language and sentence, so a new sentence or a newly configured provider
 * makes a new sample, and concurrent first requests share one run.
 */
export const PREVIEW_SENTENCES = {
  zh: '你好，欢迎收听 AIMake。这是我的声音，希望你喜欢。',
  en: 'Hello, and welcome to AIMake. This is how I sound; I hope you enjoy listening.',
} as const;

// How long one request waits for a first sample before asking the client to come back.
const GENERATION_WAIT_MS = 60_000;

/** What a voice's preview says and in which language: Chinese for zh voices, English for all others. */
export function previewSample(voice: Pick<Voice, 'language'>): { text: string; language: string } {
  const language = voice.language ?? 'zh-CN';
  if (/^zh\b/i.test(language)) return { text: PREVIEW_SENTENCES.zh, language };
  return { text: PREVIEW_SENTENCES.en, language: /^en\b/i.test(language) ? language : 'en-US' };
}

export const voicePreviewPath = (voiceId: string) => `/v1/voices/${encodeURIComponent(voiceId)}/preview`;

export class VoicePreviews {
  constructor(
    private readonly knex: Knex,
    private readonly storage: Storage,
    private readonly temporal: TemporalGateway,
    private readonly config: Config,
    private readonly logger: Logger,
    /** Which cloud providers have a key here (the others' voices are spoken by espeak-ng). */
    private readonly providerKeys: { openai: boolean; elevenlabs: boolean },
  ) {}

  /**
   * The storage key of an active voice's preview MP3, generated first if it is not stored yet.
   * `signal` ends the wait (not the run) when the asker has gone.
   */
  async keyOf(voiceId: string, signal?: AbortSignal): Promise<string> {
    const voice = await this.knex('voices').where({ id: voiceId, is_active: true }).first();
    if (!voice) throw notFound('Voice');
    const input = this.planFor(voice);
    if (await this.storage.exists(input.key)) return input.key;
    await this.generate(input, voice.id, signal);
    return input.key;
  }

  private planFor(voice: Voice): VoicePreviewInput {
    const sample = previewSample(voice);
    const keyed = (voice.provider === 'openai' && this.providerKeys.openai) || (voice.provider === 'elevenlabs' && this.providerKeys.elevenlabs);
    const engine = keyed ? voice.provider : 'local';
    const version = crypto
      .createHash('sha256')
      .update(JSON.stringify([voice.id, engine, sample.language, sample.text]))
      .digest('hex')
      .slice(0, 16);
    // Ids are the catalogue's own, but a storage key and a workflow id get only safe characters.
    const slug = voice.id.replace(/[^\w-]/g, '_');
    return { voiceId: voice.id, ...sample, key: `previews/${slug}-${version}.mp3` };
  }

  private async generate(input: VoicePreviewInput, voiceId: string, signal?: AbortSignal): Promise<void> {
    const client = await this.temporal.client();
    const handle = await client.workflow.start<typeof voicePreviewWorkflow>('voicePreviewWorkflow', {
      taskQueue: this.config.TEMPORAL_TASK_QUEUE,
      workflowId: `voice-preview-${input.key.slice('previews/'.length, -'.mp3'.length)}`,
      // A request arriving while the sample is being made waits on that run; once it has
      // closed (the file lost since, or the run failed) a new run may start under the same id.
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [input],
      staticSummary: `Preview of ${voiceId}`,
    });
    // The long poll for the result stops when the wait does: past the time limit, or when the asker hung up.
    const waitLimit = AbortSignal.timeout(GENERATION_WAIT_MS);
    const stop = signal ? AbortSignal.any([signal, waitLimit]) : waitLimit;
    try {
      await client.withAbortSignal(stop, () => handle.result());
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        this.logger.warn({ err, voiceId, workflowId: handle.workflowId }, 'voice preview failed');
        throw unavailable('The preview could not be generated right now; try again later');
      }
      if (waitLimit.aborted) throw unavailable('The preview is still being generated; try again in a minute');
      if (signal?.aborted) throw unavailable('The request ended before the preview was ready');
      throw err;
    }
  }
}
