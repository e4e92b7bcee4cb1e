import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { audioJobView, audioView, jobView, podcastView } from '../src/api/views';
import type { Config } from '../src/config';
import type { AudioWithVoice } from '../src/models';
import { deliverWebhookEvent } from '../src/webhooks/delivery';
import { publishJobEvent, type JobEvent } from '../src/webhooks/events';
import type { WebhookDeliveryInput, WebhookDeliveryResult } from '../workflows/types';
import type { ActivityDeps } from './deps';

/** A job that has just ended, as the activity that ended it knows it. */
export type JobEnd =
  { type: 'podcast.completed' | 'podcast.failed'; podcastId: string; jobId: string } | { type: 'audio.completed' | 'audio.failed'; audioId: string };

/** Called once a job's end has committed: tells the owner's webhooks (see emitJobEvent). */
export type EmitEvent = (end: JobEnd) => Promise<void>;

/**
 * The event of a job's end, if the job did end that way (a completion that found the job canceled
 * meanwhile emits nothing). Bodies are the API's own views, as GET would show them.
 */
async function jobEvent(knex: Knex, publicUrl: string | undefined, end: JobEnd): Promise<JobEvent | null> {
  if ('podcastId' in end) {
    const job = await knex('podcast_jobs').where({ id: end.jobId, podcast_id: end.podcastId }).first();
    const owner = await knex('podcasts').where({ id: end.podcastId }).first('user_id');
    if (!job || !owner || job.status !== end.type.slice('podcast.'.length)) return null;
    const data = async () => {
      const podcast = (await knex('podcasts').where({ id: end.podcastId }).first())!;
      // As GET shows it: public when its audio is (a regenerated podcast may be).
      const audio = podcast.audio_url
        ? await knex('audios').where({ user_id: podcast.user_id, audio_url: podcast.audio_url, type: 'podcast', is_deleted: false }).first('is_public')
        : undefined;
      return { podcast: podcastView(podcast, job, publicUrl, Boolean(audio?.is_public)), job: jobView(job) };
    };
    return { type: end.type, jobId: job.id, userId: owner.user_id, at: job.completed_at ?? job.created_at, data };
  }
  const { type, audioId } = end;
  const job = await knex('audio_jobs').where({ id: audioId }).first();
  if (!job || job.status !== type.slice('audio.'.length)) return null;
  const data = async () => {
    if (type === 'audio.failed') return { audio: audioJobView(job) };
    const audio = await knex('audios as a')
      .leftJoin('voices as v', 'a.voice_id', 'v.id')
      .where({ 'a.id': audioId })
      .first<AudioWithVoice>('a.*', 'v.name as voice_name');
    return { audio: audioView(audio, publicUrl) };
  };
  return { type, jobId: job.id, userId: job.user_id, at: job.completed_at ?? job.created_at, data };
}

/**
 * Emits a job's end to the owner's subscribed endpoints. Safe to call again (a retried completion
 * does): the event id comes from the job and the type, and each delivery starts once.
 */
export async function emitJobEvent(deps: { knex: Knex; config: Config }, client: Client, end: JobEnd): Promise<string | null> {
  const event = await jobEvent(deps.knex, deps.config.PUBLIC_URL, end);
  return event ? publishJobEvent(deps.knex, client, deps.config, event) : null;
}

/** For the activities that end jobs: emits with the client of the activity's worker. */
export function webhookEmitter(deps: { knex: Knex; config: Config }): EmitEvent {
  return async (end) => {
    await emitJobEvent(deps, Context.current().client, end);
  };
}

export function createWebhookActivities({ knex, config }: ActivityDeps) {
  return {
    /**
     * One attempt to deliver an event (workflows/webhooks.ts): returns once the endpoint answered
     * 2xx or is gone, and throws for Temporal to retry otherwise (not when the address policy
     * refuses the target: it would refuse it again).
     */
    async deliverWebhook(a: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
      const ctx = Context.current();
      const result = await deliverWebhookEvent(knex, {
        ...a,
        attempt: ctx.info.attempt,
        allowLoopback: config.WEBHOOK_ALLOW_LOOPBACK,
        signal: ctx.cancellationSignal,
      });
      switch (result.outcome) {
        case 'delivered':
        case 'already-delivered':
          return { delivered: true };
        case 'gone':
          return { delivered: false, error: 'The endpoint was deleted.' };
        case 'failed':
          if (result.refused) throw ApplicationFailure.nonRetryable(result.error, 'WEBHOOK_TARGET_REFUSED');
          throw ApplicationFailure.retryable(result.error, 'WEBHOOK_DELIVERY_FAILED');
      }
    },
  };
}
