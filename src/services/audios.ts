import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { ApiError, notFound } from '../api/errors';
import { audioView } from '../api/views';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { User } from '../models';
import { estimateSpeechSeconds } from '../sources/text';
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

  async create(user: User, input: CreateAudioInput, idempotencyKey: string | undefined) {
    if (input.text.length > this.config.TTS_MAX_TEXT_CHARS) {
      throw new ApiError('PAYLOAD_TOO_LARGE', `text is longer than ${this.config.TTS_MAX_TEXT_CHARS} characters`);
    }
    const voice = await assertVoiceUsable(this.knex, user, input.voiceId, 'voiceId');
    const seconds = Math.ceil(estimateSpeechSeconds(input.text, voice.language ?? 'zh-CN') / input.speed);
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
        return { value: { id }, response: { status: 202, body: { id, status: 'processing' } } };
      });
    } catch (err) {
      if (err instanceof QuotaExceededError) throw quotaError(err);
      throw err;
    }
    if (result.created) {
      const { id } = result.created;
      try {
        await startAudioRun(await this.temporal.client(), this.config, { audioId: id, userId: user.id, title: input.title ?? null });
      } catch (err) {
        this.logger.error({ err, audioId: id }, 'could not start the audio workflow');
        await this.knex.transaction(async (trx) => {
          await trx('audio_jobs').where({ id }).update({ status: 'failed', error_code: 'UNAVAILABLE', error_message: 'The job could not be started; try again', completed_at: trx.fn.now() });
          await releaseQuota(trx, audioJobKey(id));
        });
        await forgetIdempotencyKey(this.knex, scope);
        throw new ApiError('UNAVAILABLE', 'The generation service is unavailable; nothing was charged, try again shortly');
      }
    }
    return result.response;
  }

  /** 200 with the audio when done, 202 while it is being made, 200 with the error if it failed. */
  async get(user: User, audioId: string): Promise<{ status: number; body: unknown }> {
    const audio = await this.knex('audios as a')
      .leftJoin('voices as v', 'a.voice_id', 'v.id')
      .where({ 'a.id': audioId, 'a.user_id': user.id, 'a.is_deleted': false })
      .first('a.*', 'v.name as voice_name');
    if (audio) return { status: 200, body: audioView(audio, this.config.PUBLIC_URL) };
    const job = await this.knex('audio_jobs').where({ id: audioId, user_id: user.id }).first();
    if (!job || job.status === 'completed') throw notFound('Audio');
    if (job.status === 'failed') return { status: 200, body: { id: job.id, status: 'failed', error: { code: job.error_code, message: job.error_message } } };
    return { status: 202, body: { id: job.id, status: 'processing', progress: job.progress } };
  }

  /** Seed query 3.1: the caller's library, newest first, without deleted audios. */
  async list(user: User, q: { limit: number; offset: number; type?: 'tts' | 'podcast' }) {
    const base = this.knex('audios as a').where({ 'a.user_id': user.id, 'a.is_deleted': false });
    if (q.type) base.where('a.type', q.type);
    const [{ count }] = await base.clone().count<{ count: number }[]>('* as count');
    const rows = await base
      .clone()
      .leftJoin('voices as v', 'a.voice_id', 'v.id')
      .select('a.*', 'v.name as voice_name', 'v.avatar_url as voice_avatar')
      .orderBy('a.created_at', 'desc')
      .orderBy('a.id', 'desc')
      .limit(q.limit)
      .offset(q.offset);
    return { items: rows.map((r) => audioView(r, this.config.PUBLIC_URL)), total: Number(count), limit: q.limit, offset: q.offset };
  }

  /** PATCH: title and visibility are the only things a user changes on an audio. */
  async update(user: User, audioId: string, patch: { title?: string | null; isPublic?: boolean }) {
    const changes: Record<string, unknown> = { updated_at: this.knex.fn.now() };
    if (patch.title !== undefined) changes.title = patch.title;
    if (patch.isPublic !== undefined) changes.is_public = patch.isPublic;
    const n = await this.knex('audios').where({ id: audioId, user_id: user.id, is_deleted: false }).update(changes);
    if (!n) throw notFound('Audio');
    return (await this.get(user, audioId)).body;
  }

  /** DELETE is a soft delete: the row stays for usage history, the audio leaves the library. */
  async remove(user: User, audioId: string) {
    const n = await this.knex('audios').where({ id: audioId, user_id: user.id, is_deleted: false }).update({ is_deleted: true, is_public: false, updated_at: this.knex.fn.now() });
    if (!n) throw notFound('Audio');
  }

  /** The audio's stored file, for its owner, or anyone when it is public. */
  async fileOf(user: User | null, audioId: string) {
    const a = await this.knex('audios').where({ id: audioId, is_deleted: false }).first();
    if (!a || (a.user_id !== user?.id && !a.is_public)) throw notFound('Audio');
    return { uri: a.audio_url as string, format: a.audio_format as 'mp3' | 'wav', title: a.title as string | null };
  }
}
