import { WorkflowNotFoundError } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Config } from '../config';
import { AppError, conflict, notFound, unavailable } from '../errors';
import { queuePositionSql } from '../capacity/providerLanes';
import { endJob, isFinished, JOB_VIEW_COLUMNS, jobEtaSql, latestJob, latestJobs, markApproved, openJob } from '../jobs/podcastJob';
import { runState, type RunState } from '../jobs/reconcile';
import type { Logger } from '../logger';
import type { Podcast, PodcastJob, PodcastStatus, PodcastWithJob, ScriptLine, SourceType, User, Voice } from '../models';
import { writeLocalScript, type ScriptStyle } from '../script/localWriter';
import { engineOf, estimateOf, etaOf, quotaRemaining, rateOf, type Estimate } from './estimates';
import { lineSeconds, type ScriptPace } from '../script/pace';
import type { Publication } from '../publishing/transcripts';
import { jsonb } from '../db';
import type { Storage } from '../storage/types';
import type { TemporalGateway } from '../temporal/client';
import { approveScript, cancelPodcastRun, podcastWorkflowId, startPodcastRun } from '../temporal/jobs';
import { forgetIdempotencyKey, idempotent } from './idempotency';
import { podcastJobKey, QuotaExceededError, reserveQuota } from './quota';
import { usableUpload, useUpload } from './uploads';
import { assertVoiceUsable } from './voices';

export interface CreatePodcastInput {
  title?: string;
  sourceType: SourceType;
  sourceContent: string;
  targetDuration: number;
  style: string;
  language: string;
  hostVoiceId: string;
  guestVoiceId: string;
  review: boolean;
}

export const quotaError = (e: QuotaExceededError) => new AppError('QUOTA_EXCEEDED', e.message, { required: e.required, available: Math.max(0, e.available) });

const SERVICE_UNAVAILABLE = 'The generation service is unavailable; try again shortly';

/** What the API does with podcasts; route handlers stay thin over this. */
/** Scripts can be edited in these states (API: PUT …/script), and generated again in the last three. */
const EDITABLE_STATUSES: PodcastStatus[] = ['draft', 'completed', 'failed', 'canceled'];
const REGENERABLE_STATUSES: PodcastStatus[] = ['completed', 'failed', 'canceled'];

export class PodcastService {
  constructor(
    private readonly knex: Knex,
    private readonly temporal: TemporalGateway,
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly llmConfigured: boolean,
    private readonly storage: Storage,
  ) {}

  /**
   * The podcast's audio in the library: the `audios` row (type podcast) its completion wrote and
   * each new generation updates in place. Its `is_public` is the podcast's visibility (transcript,
   * chapters and feeds read it there), so the podcast has no flag of its own.
   */
  private audioOf(db: Knex | Knex.Transaction, p: Pick<Podcast, 'user_id' | 'audio_url'>) {
    return db('audios').where({ user_id: p.user_id, audio_url: p.audio_url ?? '', type: 'podcast', is_deleted: false });
  }

  /** Which of these podcasts are public, in one query. */
  private async publicIds(db: Knex | Knex.Transaction, podcasts: Podcast[]): Promise<Set<string>> {
    const withAudio = podcasts.filter((p) => p.audio_url);
    if (!withAudio.length) return new Set();
    const urls: string[] = (
      await db('audios')
        .where({ user_id: withAudio[0]!.user_id, type: 'podcast', is_deleted: false, is_public: true })
        .whereIn(
          'audio_url',
          withAudio.map((p) => p.audio_url!),
        )
        .select('audio_url')
    ).map((a) => a.audio_url);
    return new Set(withAudio.filter((p) => urls.includes(p.audio_url!)).map((p) => p.id));
  }

  private async withJob(db: Knex | Knex.Transaction, podcast: Podcast): Promise<PodcastWithJob> {
    const job = (await latestJob(db, podcast.id)) ?? null;
    return { podcast, job, isPublic: (await this.publicIds(db, [podcast])).has(podcast.id) };
  }

  /** The caller's podcast, or 404 (another user's podcast is also 404). */
  async owned(user: User, podcastId: string, trx: Knex | Knex.Transaction = this.knex): Promise<Podcast> {
    const p = await trx('podcasts').where({ id: podcastId, user_id: user.id }).first();
    if (!p) throw notFound('Podcast');
    return p;
  }

  /** The newest job of the caller's podcast, in one round trip (cheap polling). */
  async jobOf(user: User, podcastId: string): Promise<PodcastJob> {
    // Every poll runs this: a named (prepared) statement, planned once per connection, skips the
    // query builder; its columns are listed since a prepared `*` fails once a migration adds one.
    const { rows } = await this.knex
      .raw<{ rows: PodcastJob[] }>(
        `SELECT ${JOB_VIEW_COLUMNS.map((c) => `j.${c}`).join(', ')},
                ${queuePositionSql('j.id', 'j.status')} AS queue_position, ${jobEtaSql('j')} AS eta_seconds
        FROM podcast_jobs j JOIN podcasts p ON p.id = j.podcast_id
        WHERE p.id = ? AND p.user_id = ? ORDER BY j.created_at DESC, j.id LIMIT 1`,
        [podcastId, user.id],
      )
      .options({ name: 'podcast-job-of' });
    const job = rows[0];
    if (!job) throw notFound('Podcast');
    return job;
  }

  async get(user: User, podcastId: string): Promise<PodcastWithJob> {
    return this.withJob(this.knex, await this.owned(user, podcastId));
  }

  async list(user: User, q: { limit: number; offset: number; status?: PodcastStatus }) {
    const base = this.knex('podcasts').where({ user_id: user.id });
    if (q.status) base.where({ status: q.status });
    const [counted] = await base.clone().count<{ count: number }[]>('* as count');
    const rows: Podcast[] = await base.clone().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).offset(q.offset);
    const jobs = await latestJobs(
      this.knex,
      rows.map((r) => r.id),
    );
    const publicIds = await this.publicIds(this.knex, rows);
    const items: PodcastWithJob[] = rows.map((podcast) => ({ podcast, job: jobs.get(podcast.id) ?? null, isPublic: publicIds.has(podcast.id) }));
    return { items, total: Number(counted?.count ?? 0), limit: q.limit, offset: q.offset };
  }

  /** Seconds this request may produce, as far as can be known before the source is read. */
  private requestedSeconds(input: Pick<CreatePodcastInput, 'sourceType' | 'sourceContent' | 'targetDuration'>, pace: ScriptPace) {
    if (input.sourceType !== 'text') return input.targetDuration;
    return Math.max(1, Math.min(input.targetDuration, Math.ceil(lineSeconds(input.sourceContent, pace.guest))));
  }

  /** How fast the two voices will speak here (the rates that size scripts, estimates and reservations). */
  private paceOf(voices: { host: Voice; guest: Voice }, language: string): ScriptPace {
    return { host: rateOf(this.config, voices.host, language), guest: rateOf(this.config, voices.guest, language) };
  }

  /** The checks every podcast request passes, create or estimate: the source and the voices. */
  private async validateRequest(user: User, input: CreatePodcastInput): Promise<{ host: Voice; guest: Voice }> {
    if (input.sourceType === 'topic' && !this.llmConfigured) {
      throw new AppError(
        'VALIDATION_FAILED',
        'A topic source needs an LLM to write the script, and none is configured (set OPENAI_API_KEY); use a url or text source instead',
        { fields: [{ field: 'body.sourceType', message: 'topic needs an LLM' }] },
      );
    }
    if (input.sourceType === 'text' && input.sourceContent.length > this.config.PODCAST_MAX_SOURCE_CHARS) {
      throw new AppError('PAYLOAD_TOO_LARGE', `sourceContent is longer than ${this.config.PODCAST_MAX_SOURCE_CHARS} characters`);
    }
    const host = await assertVoiceUsable(this.knex, user, input.hostVoiceId, 'hostVoiceId');
    const guest = await assertVoiceUsable(this.knex, user, input.guestVoiceId, 'guestVoiceId');
    return { host, guest };
  }

  /**
   * What the request would cost, creating and reserving nothing: the same checks as create,
   * except that too little quota is `fits: false`. Without an LLM a text source's script is
   * written here (it is cheap and deterministic), so the estimate is the length the job will aim
   * at; other sources are expected at their target (the length loop's promise: ±10 %).
   */
  async estimate(user: User, input: CreatePodcastInput): Promise<Estimate> {
    const { host, guest } = await this.validateRequest(user, input);
    const pace = this.paceOf({ host, guest }, input.language);
    let seconds = input.targetDuration;
    let lines = Math.ceil(seconds / 8);
    if (!this.llmConfigured && input.sourceType === 'text') {
      try {
        const script = writeLocalScript({
          title: input.title ?? null,
          text: input.sourceContent,
          language: input.language,
          style: input.style as ScriptStyle,
          targetDurationSec: input.targetDuration,
          hostVoiceId: host.id,
          guestVoiceId: guest.id,
          pace,
        });
        seconds = script.expectedSeconds;
        lines = script.lines.length;
      } catch {
        seconds = 0; // nothing to say: the job would fail with SOURCE_EMPTY and charge nothing
      }
    } else if (!this.llmConfigured && input.sourceType === 'file') {
      // The guest reads the document; the host's questions add about a seventh.
      const upload = await usableUpload(this.knex, user, input.sourceContent);
      seconds = Math.min(input.targetDuration, (upload.characters / pace.guest.charsPerSecond) * 1.15);
      lines = Math.ceil(seconds / 8);
    }
    const scriptSeconds = this.llmConfigured ? 5 + input.targetDuration / 60 : input.sourceType === 'url' ? 3 : 1;
    const eta = etaOf(this.config, { engine: engineOf(this.config, guest), seconds, lines, scriptSeconds });
    return estimateOf(seconds, await quotaRemaining(this.knex, user), eta);
  }

  /** A new podcast and its first job, started; a replayed Idempotency-Key answers the first result. */
  async create(user: User, input: CreatePodcastInput, idempotencyKey: string | undefined): Promise<{ podcast: Podcast; job: PodcastJob }> {
    const pace = this.paceOf(await this.validateRequest(user, input), input.language);
    const scope = { userId: user.id, endpoint: 'POST /v1/podcasts', key: idempotencyKey, body: input };
    let result;
    try {
      result = await idempotent(this.knex, scope, async (trx) => {
        // The caller's upload, unexpired (else 404), is kept from now on: this podcast reads it.
        if (input.sourceType === 'file') await useUpload(trx, user, input.sourceContent);
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
        if (!podcast) throw new Error('insert returned no podcast');
        const job = await openJob(trx, podcast.id);
        await reserveQuota(trx, { userId: user.id, jobKey: podcastJobKey(job.id), seconds: this.requestedSeconds(input, pace) });
        return { podcast, job };
      });
    } catch (err) {
      if (err instanceof QuotaExceededError) throw quotaError(err);
      throw err;
    }
    if (result.created) {
      await this.startOrFail({ ...result.value, user, review: input.review, scriptReady: false }, () => forgetIdempotencyKey(this.knex, scope));
    }
    return result.value;
  }

  /** No podcast is left processing without a live run: if the start fails, the job fails. */
  private async startOrFail(run: { podcast: Podcast; job: PodcastJob; user: User; review: boolean; scriptReady: boolean }, onFailure?: () => Promise<void>) {
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
      await endJob(this.knex, {
        podcastId: run.podcast.id,
        jobId: run.job.id,
        status: 'failed',
        code: 'UNAVAILABLE',
        message: 'The job could not be started; try again',
      });
      await onFailure?.();
      throw unavailable('The generation service is unavailable; nothing was charged, try again shortly');
    }
  }

  async updateScript(user: User, podcastId: string, lines: Array<{ role: 'host' | 'guest'; text: string; voiceId?: string }>): Promise<PodcastWithJob> {
    return this.knex.transaction(async (trx) => {
      const p = await trx('podcasts').where({ id: podcastId, user_id: user.id }).forUpdate().first();
      if (!p) throw notFound('Podcast');
      // A draft awaiting review, or a podcast no job is working on (its next generation speaks only what changed).
      if (!EDITABLE_STATUSES.includes(p.status) || !p.script) {
        throw conflict(`The script can only be edited while the podcast is a draft, completed, failed or canceled (it is ${p.status})`);
      }
      const script: ScriptLine[] = [];
      const sectionByText = new Map(p.script.filter((l) => l.section).map((l) => [l.text, l.section!]));
      for (const [i, l] of lines.entries()) {
        const voiceId = l.voiceId ?? (l.role === 'host' ? p.host_voice_id : p.guest_voice_id);
        if (!voiceId) throw conflict(`Line ${i} has no voice: set its voiceId`);
        await assertVoiceUsable(trx, user, voiceId, `script.${i}.voiceId`);
        // Chapter marks are not in the API's script: a line keeps its mark while its words stay.
        const section = sectionByText.get(l.text);
        script.push({ role: l.role, text: l.text, voice_id: voiceId, ...(section ? { section } : {}) });
      }
      const [updated] = await trx('podcasts')
        .where({ id: p.id })
        .update({ script: jsonb(trx, script), updated_at: trx.fn.now() })
        .returning('*');
      return this.withJob(trx, updated ?? p);
    });
  }

  /** Approves a draft's script, or retries a failed or canceled podcast (a failed one reuses its spoken lines). */
  async generate(user: User, podcastId: string): Promise<PodcastJob> {
    const p = await this.owned(user, podcastId);
    if (p.status === 'draft') {
      const job = await latestJob(this.knex, p.id);
      if (!job) throw conflict('This draft has no job');
      try {
        await approveScript(await this.temporal.client(), p.id);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw conflict('This draft is no longer waiting for approval');
        throw unavailable(SERVICE_UNAVAILABLE);
      }
      await markApproved(this.knex, { podcastId: p.id, jobId: job.id });
      return (await latestJob(this.knex, p.id)) ?? job;
    }
    if (!REGENERABLE_STATUSES.includes(p.status)) throw conflict(`A ${p.status} podcast cannot be generated again`);

    const script = p.script;
    // After an edit only new lines are spoken and charged: reserve for the lines whose words the
    // podcast's current audio does not have (the job sizes the reservation exactly once it starts).
    const spokenBefore = p.status === 'completed' ? new Set((await this.currentAudioText(p))?.split('\n') ?? []) : new Set<string>();
    const voices: Voice[] = await this.knex('voices').whereIn('id', [p.host_voice_id ?? '', p.guest_voice_id ?? '']);
    // A voice gone from the catalogue is spoken by espeak-ng, as the worker would.
    const voiceOf = (id: string): Voice => voices.find((v) => v.id === id) ?? ({ id, provider: 'local' } as Voice);
    const pace = this.paceOf({ host: voiceOf(p.host_voice_id ?? ''), guest: voiceOf(p.guest_voice_id ?? '') }, p.language);
    const seconds = script?.length
      ? Math.max(1, Math.ceil(script.filter((l) => !spokenBefore.has(l.text)).reduce((s, l) => s + lineSeconds(l.text, pace[l.role]), 0)))
      : this.requestedSeconds({ sourceType: p.source_type, sourceContent: p.source_content, targetDuration: p.target_duration }, pace);
    let job: PodcastJob;
    try {
      job = await this.knex.transaction(async (trx) => {
        const locked = await trx('podcasts').where({ id: p.id }).forUpdate().first();
        if (!locked) throw notFound('Podcast'); // deleted meanwhile
        if (!REGENERABLE_STATUSES.includes(locked.status)) throw conflict(`A ${locked.status} podcast cannot be generated again`);
        const j = await openJob(trx, p.id);
        await reserveQuota(trx, { userId: user.id, jobKey: podcastJobKey(j.id), seconds });
        return j;
      });
    } catch (err) {
      if (err instanceof QuotaExceededError) throw quotaError(err);
      throw err;
    }
    await this.startOrFail({ podcast: p, job, user, review: false, scriptReady: Boolean(script?.length) });
    return job;
  }

  /**
   * A completed podcast's timeline (where each line sits in its current file) and its voices'
   * names, for transcripts and chapters. The owner, or anyone when its audio is public (like the
   * file); 409 before it is completed.
   */
  async published(user: User | null, podcastId: string): Promise<Publication> {
    const p = await this.knex('podcasts').where({ id: podcastId }).first();
    const audio = p?.audio_url ? await this.audioOf(this.knex, p).first() : undefined;
    if (!p || (p.user_id !== user?.id && !audio?.is_public)) throw notFound('Podcast');
    return this.publication(p);
  }

  /** What transcripts and chapters are made from, for a podcast the caller may read; 409 without audio or timeline. */
  async publication(p: Podcast): Promise<Publication> {
    if (!p.audio_url) throw conflict(`The podcast has no audio yet (it is ${p.status})`);
    const job = await this.knex('podcast_jobs').where({ podcast_id: p.id, status: 'completed' }).orderBy('completed_at', 'desc').first();
    // Podcasts completed before timelines were recorded have none.
    if (!job?.timeline?.length) throw conflict('This podcast was made before transcripts were recorded; generate it again to get one');
    const voices = await this.knex('voices')
      .whereIn('id', [...new Set(job.timeline.map((t) => t.voiceId))])
      .select('id', 'name');
    return { podcast: p, timeline: job.timeline, speakers: new Map(voices.map((v) => [v.id, v.name])) };
  }

  /** The text of the podcast's current audio (its script lines at the last completion). */
  private async currentAudioText(p: Podcast): Promise<string | null> {
    if (!p.audio_url) return null;
    const audio = await this.knex('audios').where({ user_id: p.user_id, audio_url: p.audio_url, type: 'podcast' }).first('text');
    return audio?.text ?? null;
  }

  /**
   * PATCH: a new title (the podcast's and its audio's, so both libraries agree) and/or visibility,
   * which is its audio's: 409 while the podcast has no audio in the library.
   */
  async update(user: User, podcastId: string, patch: { title?: string | null; isPublic?: boolean }): Promise<PodcastWithJob> {
    return this.knex.transaction(async (trx) => {
      const p = await trx('podcasts').where({ id: podcastId, user_id: user.id }).forUpdate().first();
      if (!p) throw notFound('Podcast');
      const audio = p.audio_url ? await this.audioOf(trx, p).forUpdate().first('id') : undefined;
      if (patch.isPublic !== undefined && !audio) throw conflict(`The podcast has no audio to make public or private yet (it is ${p.status})`);
      let updated = p;
      if (patch.title !== undefined) {
        [updated = p] = await trx('podcasts').where({ id: p.id }).update({ title: patch.title, updated_at: trx.fn.now() }).returning('*');
      }
      if (audio) {
        await trx('audios')
          .where({ id: audio.id })
          .update({
            updated_at: trx.fn.now(),
            ...(patch.title !== undefined ? { title: patch.title } : {}),
            ...(patch.isPublic !== undefined ? { is_public: patch.isPublic } : {}),
          });
      }
      return this.withJob(trx, updated);
    });
  }

  /**
   * DELETE: the podcast, its jobs and spoken lines (their foreign keys cascade), its jobs'
   * pronunciation copies and its stored files go; its audio leaves the library as an audio delete
   * does (soft: usage_logs point at it). Usage rows stay, so the month's usage and quota are
   * unchanged; they only lose the link to a podcast that no longer exists. 409 while a job runs
   * or a draft waits (cancel first): its run would write to what is being removed.
   */
  async remove(user: User, podcastId: string): Promise<void> {
    await this.knex.transaction(async (trx) => {
      const p = await trx('podcasts').where({ id: podcastId, user_id: user.id }).forUpdate().first();
      if (!p) throw notFound('Podcast');
      const job = await latestJob(trx, p.id);
      if (job && !isFinished(job.status)) throw conflict(`A ${p.status} podcast cannot be deleted; cancel it first`);
      const audioIds = trx('usage_logs').where({ podcast_id: p.id }).whereNotNull('audio_id').select('audio_id');
      await trx('audios')
        .where({ user_id: p.user_id, type: 'podcast', is_deleted: false })
        .andWhere((w) => w.where({ audio_url: p.audio_url ?? '' }).orWhereIn('id', audioIds))
        .update({ is_deleted: true, is_public: false, updated_at: trx.fn.now() });
      await trx('usage_logs').where({ podcast_id: p.id }).update({ podcast_id: null });
      await trx('job_pronunciations')
        .whereIn('job_id', trx('podcast_jobs').where({ podcast_id: p.id }).select('id'))
        .delete();
      await trx('podcasts').where({ id: p.id }).delete();
      // Files last, with the row still locked: a failed removal rolls the delete back (try again),
      // and nothing can start a job that would write here meanwhile. Every file of a podcast lives
      // under its folder (audio, spoken lines, fetched source).
      await this.storage.deletePrefix(`podcasts/${p.id}`);
    });
  }

  async cancel(user: User, podcastId: string): Promise<PodcastJob> {
    const p = await this.owned(user, podcastId);
    const job = await latestJob(this.knex, p.id);
    if (!job || isFinished(job.status)) {
      throw conflict(`Only a running or draft podcast can be canceled (it is ${p.status})`);
    }
    let run: RunState;
    try {
      const client = await this.temporal.client();
      run = await runState(client, podcastWorkflowId(p.id), job.id, new Date(job.created_at));
      if (run.open) await cancelPodcastRun(client, p.id);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw unavailable(SERVICE_UNAVAILABLE);
      run = { open: false, code: 'RUN_ENDED', message: 'The run had already ended' };
    }
    // No run left to stop (terminated in the UI, never started, long gone): settle the records here.
    if (!run.open) await endJob(this.knex, { podcastId: p.id, jobId: job.id, status: 'canceled' });
    return (await latestJob(this.knex, p.id)) ?? job;
  }
}
