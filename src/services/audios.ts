import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { AppError, notFound, unavailable } from '../errors';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { AudioLookup, AudioWithVoice, User, Voice } from '../models';
import { engineOf, estimateOf, etaOf, quotaRemaining, rateOf, ttsSeconds, type Estimate } from './estimates';
import type { TemporalGateway } from '../temporal/client';
import { startAudioRun } from '../temporal/jobs';
import { forgetIdempotencyKey, idempotent } from './idempotency';
import { audioJobKey, QuotaExceededError, releaseQuota, reserveQuota } from './quota';
import { quotaError } from './podcasts';
import { assertVoiceUsable } from './voices';

export interface CreateAudioInput {
  text: string;
  voiceId: string;
  title?: string;
  speed: number;
  emotion: string;
  format: 'mp3' | 'wav';
}

/** Text to speech: accept, run as a workflow, show processing / failed / the finished audio. */
export class AudioService {
  constructor(
    private readonly knex: Knex,
    private readonly temporal: TemporalGateway,
    private readonly config: Config,
    private readonly logger: Logger,
  ) {}

  /** The checks every speech request passes, create or estimate. */
  private async validateRequest(user: User, input: CreateAudioInput): Promise<Voice> {
    if (input.text.length > this.config.TTS_MAX_TEXT_CHARS) {
      throw new AppError('PAYLOAD_TOO_LARGE', `text is longer than ${this.config.TTS_MAX_TEXT_CHARS} characters`);
    }
    return assertVoiceUsable(this.knex, user, input.voiceId, 'voiceId');
  }

  /** What the request would cost and take, creating and reserving nothing (too little quota: `fits: false`). */
  async estimate(user: User, input: CreateAudioInput): Promise<Estimate> {
    const voice = await this.validateRequest(user, input);
    const language = voice.language ?? 'zh-CN';
    const seconds = ttsSeconds(input.text, rateOf(this.config, voice, language), input.speed);
    const chunks = Math.ceil(input.text.length / 2000);
    const eta = etaOf(this.config, { engine: engineOf(this.config, voice), seconds, lines: chunks, scriptSeconds: 0 });
    return estimateOf(seconds, await quotaRemaining(this.knex, user), eta);
  }

  /** Accepts a text for speech and starts its run; the id is the audio's id once it is done. */
  async create(user: User, input: CreateAudioInput, idempotencyKey: string | undefined): Promise<{ id: string }> {
    const voice = await this.validateRequest(user, input);
    const seconds = Math.ceil(ttsSeconds(input.text, rateOf(this.config, voice, voice.language ?? 'zh-CN'), input.speed));
    const scope = { userId: user.id, endpoint: 'POST /v1/audios', key: idempotencyKey, body: input };
    let result;
    try {
      result = await idempotent(this.knex, scope, async (trx) => {
        const id = crypto.randomUUID();
        await trx('audio_jobs').insert({
          id,
          user_id: user.id,
          voice_id: input.voiceId,
          title: input.title ?? null,
          text: input.text,
          text_length: input.text.length,
          speed: input.speed,
          emotion: input.emotion,
          audio_format: input.format,
        });
        await reserveQuota(trx, { userId: user.id, jobKey: audioJobKey(id), seconds });
        return { id };
      });
    } catch (err) {
      if (err instanceof QuotaExceededError) throw quotaError(err);
      throw err;
    }
    if (result.created) {
      const { id } = result.value;
      try {
        await startAudioRun(await this.temporal.client(), this.config, { audioId: id, userId: user.id, title: input.title ?? null });
      } catch (err) {
        this.logger.error({ err, audioId: id }, 'could not start the audio workflow');
        await this.knex.transaction(async (trx) => {
          await trx('audio_jobs')
            .where({ id })
            .update({ status: 'failed', error_code: 'UNAVAILABLE', error_message: 'The job could not be started; try again', completed_at: trx.fn.now() });
          await releaseQuota(trx, audioJobKey(id));
        });
        await forgetIdempotencyKey(this.knex, scope);
        throw unavailable('The generation service is unavailable; nothing was charged, try again shortly');
      }
    }
    return result.value;
  }

  /** The audio when done; else its job, while it is being made or once it failed. */
  async get(user: User, audioId: string): Promise<AudioLookup> {
    const audio = await this.knex('audios as a')
      .leftJoin('voices as v', 'a.voice_id', 'v.id')
      .where({ 'a.id': audioId, 'a.user_id': user.id, 'a.is_deleted': false })
      .first<AudioWithVoice | undefined>('a.*', 'v.name as voice_name');
    if (audio) return { audio };
    const job = await this.knex('audio_jobs').where({ id: audioId, user_id: user.id }).first();
    if (!job || job.status === 'completed') throw notFound('Audio');
    return { job };
  }

  /** Seed query 3.1: the caller's library, newest first, without deleted audios. */
  async list(user: User, q: { limit: number; offset: number; type?: 'tts' | 'podcast' }) {
    const base = this.knex('audios as a').where({ 'a.user_id': user.id, 'a.is_deleted': false });
    if (q.type) base.where('a.type', q.type);
    const [counted] = await base.clone().count<{ count: number }[]>('* as count');
    const rows: AudioWithVoice[] = await base
      .clone()
      .leftJoin('voices as v', 'a.voice_id', 'v.id')
      .select('a.*', 'v.name as voice_name', 'v.avatar_url as voice_avatar')
      .orderBy('a.created_at', 'desc')
      .orderBy('a.id', 'desc')
      .limit(q.limit)
      .offset(q.offset);
    return { items: rows, total: Number(counted?.count ?? 0), limit: q.limit, offset: q.offset };
  }

  /** PATCH: title and visibility are the only things a user changes on an audio. */
  async update(user: User, audioId: string, patch: { title?: string | null; isPublic?: boolean }): Promise<AudioLookup> {
    const n = await this.knex('audios')
      .where({ id: audioId, user_id: user.id, is_deleted: false })
      .update({
        updated_at: this.knex.fn.now(),
        ...(patch.title !== undefined ? { title: patch.title } : {}),
        ...(patch.isPublic !== undefined ? { is_public: patch.isPublic } : {}),
      });
    if (!n) throw notFound('Audio');
    return this.get(user, audioId);
  }

  /** DELETE is a soft delete: the row stays for usage history, the audio leaves the library. */
  async remove(user: User, audioId: string) {
    const n = await this.knex('audios')
      .where({ id: audioId, user_id: user.id, is_deleted: false })
      .update({ is_deleted: true, is_public: false, updated_at: this.knex.fn.now() });
    if (!n) throw notFound('Audio');
  }

  /** The audio's stored file, for its owner, or anyone when it is public. */
  async fileOf(user: User | null, audioId: string) {
    const a = await this.knex('audios').where({ id: audioId, is_deleted: false }).first();
    if (!a || (a.user_id !== user?.id && !a.is_public)) throw notFound('Audio');
    return { uri: a.audio_url, format: a.audio_format as 'mp3' | 'wav', title: a.title };
  }
}
