import crypto from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Knex } from 'knex';
import { ApiError, conflict, notFound } from '../api/errors';
import { podcastView, jobView } from '../api/views';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { ScriptLine, User } from '../models';
import { estimateSpeechSeconds } from '../sources/text';
import type { TemporalGateway } from '../temporal/client';
import { approveScript, cancelPodcastRun, startPodcastRun } from '../temporal/jobs';
import { forgetIdempotencyKey, idempotent } from './idempotency';
import { podcastJobKey, QuotaExceededError, releaseQuota, reserveQuota } from './quota';
import { assertVoiceUsable } from './voices';

export interface CreatePodcastInput {
  title?: string;
  sourceType: 'url' | 'text' | 'topic';
  sourceContent: string;
  targetDuration: number;
  style: string;
  language: string;
  hostVoiceId: string;
  guestVoiceId: string;
  review: boolean;
}

export const quotaError = (e: QuotaExceededError) =>
  new ApiError('QUOTA_EXCEEDED', e.message, { required: e.required, available: Math.max(0, e.available) });

/** What the API does with podcasts; route handlers stay thin over this. */
export class PodcastService {
  constructor(
    private readonly knex: Knex,
    private readonly temporal: TemporalGateway,
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly llmConfigured: boolean,
  ) {}

  /** The caller's podcast, or 404 (another user's podcast is also 404). */
  async owned(user: User, podcastId: string, trx: Knex | Knex.Transaction = this.knex) {
    const p = await trx('podcasts').where({ id: podcastId, user_id: user.id }).first();
    if (!p) throw notFound('Podcast');
    return p;
  }

  latestJob(podcastId: string, trx: Knex | Knex.Transaction = this.knex) {
    return trx('podcast_jobs').where({ podcast_id: podcastId }).orderBy('created_at', 'desc').orderBy('id').first();
  }

  async view(user: User, podcastId: string) {
    const p = await this.owned(user, podcastId);
    return podcastView(p, (await this.latestJob(p.id)) ?? null, this.config.PUBLIC_URL);
  }

  async list(user: User, q: { limit: number; offset: number; status?: string }) {
    const base = this.knex('podcasts').where({ user_id: user.id });
    if (q.status) base.where({ status: q.status });
    const [{ count }] = await base.clone().count<{ count: number }[]>('* as count');
    const rows = await base.clone().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).offset(q.offset);
    const jobs = rows.length
      ? await this.knex('podcast_jobs').distinctOn('podcast_id').whereIn('podcast_id', rows.map((r) => r.id)).orderBy([{ column: 'podcast_id' }, { column: 'created_at', order: 'desc' }])
      : [];
    const byPodcast = new Map(jobs.map((j) => [j.podcast_id, j]));
    return { items: rows.map((p) => podcastView(p, byPodcast.get(p.id) ?? null, this.config.PUBLIC_URL)), total: Number(count), limit: q.limit, offset: q.offset };
  }

  /** Seconds this request may produce, as far as can be known before the source is read. */
  private requestedSeconds(input: CreatePodcastInput) {
    if (input.sourceType !== 'text') return input.targetDuration;
    return Math.max(1, Math.min(input.targetDuration, Math.ceil(estimateSpeechSeconds(input.sourceContent, input.language))));
  }

  async create(user: User, input: CreatePodcastInput, idempotencyKey: string | undefined) {
    if (input.sourceType === 'topic' && !this.llmConfigured) {
      throw new ApiError('VALIDATION_FAILED', 'A topic source needs an LLM to write the script, and none is configured (set OPENAI_API_KEY); use a url or text source instead', {
        fields: [{ field: 'body.sourceType', message: 'topic needs an LLM' }],
      });
    }
    if (input.sourceType === 'text' && input.sourceContent.length > this.config.PODCAST_MAX_SOURCE_CHARS) {
      throw new ApiError('PAYLOAD_TOO_LARGE', `sourceContent is longer than ${this.config.PODCAST_MAX_SOURCE_CHARS} characters`);
    }
    await assertVoiceUsable(this.knex, user, input.hostVoiceId, 'hostVoiceId');
    await assertVoiceUsable(this.knex, user, input.guestVoiceId, 'guestVoiceId');

    const scope = { userId: user.id, endpoint: 'POST /v1/podcasts', key: idempotencyKey, body: input };
    let result;
    try {
      result = await idempotent(this.knex, scope, async (trx) => {
        const [podcast] = await trx('podcasts')
          .insert({
            user_id: user.id,
            title: input.title ?? null,
            source_type: input.sourceType,
            source_content: input.sourceContent,
            target_duration: input.targetDuration,
            style: input.style,
            language: input.language,
            host_voice_id: input.hostVoiceId,
            guest_voice_id: input.guestVoiceId,
            status: 'processing',
          })
          .returning('*');
        const [job] = await trx('podcast_jobs').insert({ podcast_id: podcast.id, status: 'pending' }).returning('*');
        await reserveQuota(trx, { userId: user.id, jobKey: podcastJobKey(job.id), seconds: this.requestedSeconds(input) });
        return {
          value: { podcast, job },
          response: { status: 202, body: { podcast: podcastView(podcast, job, this.config.PUBLIC_URL), job: jobView(job) } },
        };
      });
    } catch (err) {
      if (err instanceof QuotaExceededError) throw quotaError(err);
      throw err;
    }
    if (result.created) {
      const { podcast, job } = result.created;
      await this.startOrFail({ podcast, job, user, review: input.review, scriptReady: false }, () => forgetIdempotencyKey(this.knex, scope));
    }
    return result.response;
  }

  /** No podcast is left processing without a live run: if the start fails, the job fails. */
  private async startOrFail(
    run: { podcast: any; job: any; user: User; review: boolean; scriptReady: boolean },
    onFailure?: () => Promise<void>,
  ) {
    try {
      const client = await this.temporal.client();
      await startPodcastRun(client, this.config, {
        podcastId: run.podcast.id,
        jobId: run.job.id,
        userId: run.user.id,
        title: run.podcast.title,
        review: run.review,
        scriptReady: run.scriptReady,
      });
    } catch (err) {
      this.logger.error({ err, podcastId: run.podcast.id }, 'could not start the podcast workflow');
      await this.knex.transaction(async (trx) => {
        await trx('podcast_jobs')
          .where({ id: run.job.id })
          .update({ status: 'failed', error_code: 'UNAVAILABLE', error_message: 'The job could not be started; try again', completed_at: trx.fn.now() });
        await trx('podcasts').where({ id: run.podcast.id }).update({ status: 'failed', updated_at: trx.fn.now() });
        await releaseQuota(trx, podcastJobKey(run.job.id));
      });
      await onFailure?.();
      throw new ApiError('UNAVAILABLE', 'The generation service is unavailable; nothing was charged, try again shortly');
    }
  }

  async updateScript(user: User, podcastId: string, lines: Array<{ role: 'host' | 'guest'; text: string; voiceId?: string }>) {
    return this.knex.transaction(async (trx) => {
      const p = await trx('podcasts').where({ id: podcastId, user_id: user.id }).forUpdate().first();
      if (!p) throw notFound('Podcast');
      if (p.status !== 'draft' || !p.script) throw conflict(`The script can only be edited while the podcast is a draft awaiting review (it is ${p.status})`);
      const script: ScriptLine[] = [];
      for (const [i, l] of lines.entries()) {
        const voiceId = l.voiceId ?? (l.role === 'host' ? p.host_voice_id : p.guest_voice_id);
        await assertVoiceUsable(trx, user, voiceId, `script.${i}.voiceId`);
        script.push({ role: l.role, text: l.text, voice_id: voiceId });
      }
      const [updated] = await trx('podcasts').where({ id: p.id }).update({ script: JSON.stringify(script), updated_at: trx.fn.now() }).returning('*');
      return podcastView(updated, (await this.latestJob(p.id, trx)) ?? null, this.config.PUBLIC_URL);
    });
  }

  /** Approves a draft's script, or retries a failed or canceled podcast (reusing spoken lines). */
  async generate(user: User, podcastId: string) {
    const p = await this.owned(user, podcastId);
    if (p.status === 'draft') {
      const job = await this.latestJob(p.id);
      try {
        await approveScript(await this.temporal.client(), p.id);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw conflict('This draft is no longer waiting for approval');
        throw new ApiError('UNAVAILABLE', 'The generation service is unavailable; try again shortly');
      }
      return { job: jobView(job) };
    }
    if (p.status !== 'failed' && p.status !== 'canceled') throw conflict(`A ${p.status} podcast cannot be generated again`);

    const script: ScriptLine[] | null = p.script;
    const seconds = script?.length
      ? Math.ceil(script.reduce((s, l) => s + estimateSpeechSeconds(l.text, p.language), 0))
      : this.requestedSeconds({ sourceType: p.source_type, sourceContent: p.source_content, targetDuration: p.target_duration, language: p.language } as CreatePodcastInput);
    let job;
    try {
      job = await this.knex.transaction(async (trx) => {
        const locked = await trx('podcasts').where({ id: p.id }).forUpdate().first();
        if (locked.status !== 'failed' && locked.status !== 'canceled') throw conflict(`A ${locked.status} podcast cannot be generated again`);
        const [j] = await trx('podcast_jobs').insert({ podcast_id: p.id, status: 'pending' }).returning('*');
        await reserveQuota(trx, { userId: user.id, jobKey: podcastJobKey(j.id), seconds });
        await trx('podcasts').where({ id: p.id }).update({ status: 'processing', updated_at: trx.fn.now() });
        return j;
      });
    } catch (err) {
      if (err instanceof QuotaExceededError) throw quotaError(err);
      throw err;
    }
    await this.startOrFail({ podcast: p, job, user, review: false, scriptReady: Boolean(script?.length) });
    return { job: jobView(job) };
  }

  async cancel(user: User, podcastId: string) {
    const p = await this.owned(user, podcastId);
    const job = await this.latestJob(p.id);
    if (!job || ['completed', 'failed', 'canceled'].includes(job.status)) {
      throw conflict(`Only a running or draft podcast can be canceled (it is ${p.status})`);
    }
    try {
      await cancelPodcastRun(await this.temporal.client(), p.id);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw new ApiError('UNAVAILABLE', 'The generation service is unavailable; try again shortly');
      // No run to stop (it never started or is long gone): settle the records here.
      await this.knex.transaction(async (trx) => {
        await trx('podcast_jobs').where({ id: job.id }).update({ status: 'canceled', current_step: 'Canceled', completed_at: trx.fn.now() });
        await trx('podcasts').where({ id: p.id }).update({ status: 'canceled', updated_at: trx.fn.now() });
        await releaseQuota(trx, podcastJobKey(job.id));
      });
    }
    return { job: jobView(job) };
  }
}

/** A weak ETag over a job snapshot, for cheap polling with If-None-Match. */
export const etagOf = (body: unknown) => `W/"${crypto.createHash('sha1').update(JSON.stringify(body)).digest('base64url')}"`;
