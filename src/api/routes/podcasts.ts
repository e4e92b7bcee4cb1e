import { PassThrough } from 'node:stream';
import { z } from 'zod';
import type { Knex } from 'knex';
import type { Logger } from '../../logger';
import type { Storage } from '../../storage/types';
import { AppError } from '../../errors';
import { isFinished } from '../../jobs/podcastJob';
import type { JobChanges } from '../../jobs/jobChanges';
import type { PodcastJob } from '../../models';
import type { PodcastService } from '../../services/podcasts';
import { sendChapters, sendPodcastFile, sendTranscript } from '../podcastMedia';
import type { StreamSlots } from '../streamSlots';
import { notModified } from '../request';
import { route } from '../route';
import { etagOf, jobView, podcastView, podcastWithJobView } from '../views';
import { IdParams, idempotencyKeyOf, ListQuery, NOT_BLANK } from './common';

const ScriptLineIn = z.strictObject({
  role: z.enum(['host', 'guest']),
  text: z.string().regex(NOT_BLANK, 'must not be blank').trim().min(1).max(2000),
  voiceId: z.string().max(50).optional(),
});

const CreatePodcast = z
  .strictObject({
    title: z.string().regex(NOT_BLANK, 'must not be blank').trim().min(1).max(200).optional(),
    sourceType: z.enum(['url', 'text', 'topic', 'file']),
    sourceContent: z
      .string()
      .regex(NOT_BLANK, 'must not be blank')
      .trim()
      .min(1)
      .max(1_000_000)
      .describe('The URL, the text, the topic, or (sourceType file) the id of an upload from POST /v1/uploads'),
    targetDuration: z.number().int().min(60).max(7200).default(600),
    style: z.enum(['casual', 'formal', 'debate']).default('casual'),
    language: z
      .string()
      .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a language tag such as zh-CN or en-US')
      .max(20)
      .default('zh-CN'),
    hostVoiceId: z.string().min(1).max(50),
    guestVoiceId: z.string().min(1).max(50),
    review: z.boolean().default(false),
  })
  .superRefine((b, ctx) => {
    if (b.sourceType === 'file' && !z.uuid().safeParse(b.sourceContent).success)
      ctx.addIssue({ code: 'custom', path: ['sourceContent'], message: 'must be the id of an upload (POST /v1/uploads) when sourceType is file' });
    if (b.sourceType !== 'url') return;
    let url: URL | null = null;
    try {
      url = new URL(b.sourceContent);
    } catch {
      // reported below
    }
    if (!url || !['http:', 'https:'].includes(url.protocol))
      ctx.addIssue({ code: 'custom', path: ['sourceContent'], message: 'must be an http(s) URL when sourceType is url' });
  });

/** What the job event streams need: who watches which job, and how many streams each user holds. */
export interface JobEventsDeps {
  changes: JobChanges;
  slots: StreamSlots;
}

const KEEP_ALIVE_MS = 15_000;
const READ_RETRY_MS = 5_000;

export function podcastRoutes(deps: { podcasts: PodcastService; knex: Knex; storage: Storage; logger: Logger; events: JobEventsDeps; publicUrl?: string }) {
  const { podcasts, events, publicUrl } = deps;
  return [
    route({
      method: 'post',
      path: '/v1/podcasts',
      operationId: 'createPodcast',
      tag: 'podcasts',
      scope: 'podcast',
      summary: 'Create a podcast from a URL, a text, a topic or an uploaded document, and start generating it',
      auth: 'required',
      body: CreatePodcast,
      responses: { 202: { description: 'Accepted: the podcast and its job' } },
      handler: async (ctx, { body, auth }) => {
        const key = idempotencyKeyOf(ctx);
        const { podcast, job } = await podcasts.create(auth!.user, body, key);
        ctx.status = 202;
        // A new podcast has no audio to be public yet.
        ctx.body = { podcast: podcastView(podcast, job, publicUrl, false), job: jobView(job) };
      },
    }),
    route({
      method: 'post',
      path: '/v1/podcasts/estimate',
      operationId: 'estimatePodcast',
      tag: 'podcasts',
      scope: 'podcast',
      summary: 'What creating this podcast would cost and take (duration, quota, ETA); creates and reserves nothing',
      auth: 'required',
      body: CreatePodcast,
      responses: { 200: { description: '{estimatedDuration, quotaCost, quotaRemaining, fits, etaSeconds}' } },
      handler: async (ctx, { body, auth }) => {
        ctx.body = await podcasts.estimate(auth!.user, body);
      },
    }),
    route({
      method: 'get',
      path: '/v1/podcasts',
      operationId: 'listPodcasts',
      tag: 'podcasts',
      scope: 'podcast',
      summary: "The caller's podcasts, newest first",
      auth: 'required',
      query: ListQuery.extend({ status: z.enum(['draft', 'processing', 'completed', 'failed', 'canceled']).optional() }),
      responses: { 200: { description: 'A page of podcasts' } },
      handler: async (ctx, { query, auth }) => {
        const page = await podcasts.list(auth!.user, query);
        ctx.body = { ...page, items: page.items.map((p) => podcastWithJobView(p, publicUrl)) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/podcasts/:id',
      operationId: 'getPodcast',
      tag: 'podcasts',
      scope: 'podcast',
      summary: 'A podcast with its script and latest job',
      auth: 'required',
      params: IdParams,
      responses: { 200: { description: 'The podcast' } },
      handler: async (ctx, { params, auth }) => {
        ctx.body = podcastWithJobView(await podcasts.get(auth!.user, params.id), publicUrl);
      },
    }),
    route({
      method: 'patch',
      path: '/v1/podcasts/:id',
      operationId: 'updatePodcast',
      tag: 'podcasts',
      scope: 'podcast',
      summary: 'Rename a podcast (and its audio in the library) or change whether its audio is public',
      auth: 'required',
      params: IdParams,
      body: z
        .strictObject({
          title: z.string().regex(NOT_BLANK, 'must not be blank').trim().min(1).max(200).nullable().optional(),
          isPublic: z.boolean().optional().describe("The podcast's audio; 409 while it has none"),
        })
        .refine((b) => b.title !== undefined || b.isPublic !== undefined, 'give title or isPublic')
        // What the refinement means, for the OpenAPI document (both keys are the only ones allowed).
        .meta({ minProperties: 1 }),
      responses: { 200: { description: 'The updated podcast' }, 409: { description: 'isPublic given, and the podcast has no audio yet' } },
      handler: async (ctx, { params, body, auth }) => {
        ctx.body = podcastWithJobView(await podcasts.update(auth!.user, params.id, body), publicUrl);
      },
    }),
    route({
      method: 'delete',
      path: '/v1/podcasts/:id',
      operationId: 'deletePodcast',
      tag: 'podcasts',
      scope: 'podcast',
      summary: 'Delete a podcast, its jobs and its files; its audio leaves the library, usage history stays',
      auth: 'required',
      params: IdParams,
      responses: { 204: { description: 'Deleted' }, 409: { description: 'A job is running or a draft waits: cancel it first' } },
      handler: async (ctx, { params, auth }) => {
        await podcasts.remove(auth!.user, params.id);
        ctx.status = 204;
      },
    }),
    route({
      method: 'get',
      path: '/v1/podcasts/:id/job',
      operationId: 'getPodcastJob',
      tag: 'podcasts',
      scope: 'podcast',
      summary: "The podcast's latest job (ETag / If-None-Match for cheap polling)",
      auth: 'required',
      params: IdParams,
      responses: { 200: { description: 'The job' }, 304: { description: 'Unchanged since the ETag' } },
      handler: async (ctx, { params, auth }) => {
        const body = jobView(await podcasts.jobOf(auth!.user, params.id));
        const etag = etagOf(body);
        ctx.set('ETag', etag);
        ctx.set('Cache-Control', 'no-cache');
        if (notModified(ctx, { etag })) {
          ctx.status = 304;
          return;
        }
        ctx.body = body;
      },
    }),
    route({
      method: 'get',
      path: '/v1/podcasts/:id/events',
      operationId: 'streamPodcastEvents',
      tag: 'podcasts',
      scope: 'podcast',
      summary: 'Server-sent events: a job snapshot whenever it changes, until the job ends',
      auth: 'required',
      params: IdParams,
      responses: { 200: { description: 'text/event-stream of job snapshots', contentType: 'text/event-stream' } },
      handler: async (ctx, { params, auth }) => {
        const user = auth!.user;
        const release = events.slots.take(user.id);
        const stream = new PassThrough();
        let last = '';
        let done = false;
        let keepAlive: NodeJS.Timeout | undefined;
        let unwatch = () => {};
        const end = () => {
          if (done) return;
          done = true;
          clearInterval(keepAlive);
          unwatch();
          release();
          stream.end();
        };
        // The client hung up (even while the stream was still opening), or the response ended.
        ctx.res.on('close', end);
        const show = (job: PodcastJob) => {
          if (done) return;
          const snapshot = JSON.stringify(jobView(job));
          if (snapshot !== last) {
            stream.write(`event: job\ndata: ${snapshot}\n\n`);
            last = snapshot;
          }
          if (isFinished(job.status)) end();
        };
        // One read at a time, so snapshots never arrive out of order; changes notified during a
        // read are folded into one more read after it.
        let reading: Promise<void> | null = null;
        let again = false;
        const read = async () => {
          do {
            again = false;
            show(await podcasts.jobOf(user, params.id));
          } while (again && !done);
        };
        const reread = () => {
          if (done) return;
          if (reading) {
            again = true;
            return;
          }
          reading = read()
            .catch((err) => {
              deps.logger.warn({ err, podcastId: params.id }, 'event stream: cannot read the job, trying again shortly');
              setTimeout(reread, READ_RETRY_MS);
            })
            .finally(() => {
              reading = null;
            });
        };

        try {
          // Watch first, then read: a change made in between is then notified, not lost.
          unwatch = await events.changes.watch(params.id, { changed: reread, closed: end });
          if (done) unwatch();
          reading = read(); // the first snapshot; also answers 404 for someone else's podcast
          await reading;
        } catch (err) {
          end();
          throw err;
        } finally {
          reading = null;
        }
        ctx.status = 200;
        ctx.type = 'text/event-stream';
        ctx.set('Cache-Control', 'no-cache');
        ctx.set('X-Accel-Buffering', 'no');
        ctx.req.socket.setTimeout(0);
        ctx.body = stream;
        // Comment lines keep proxies from cutting a stream whose job is quiet for a while.
        if (!done) keepAlive = setInterval(() => stream.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
      },
    }),
    route({
      method: 'put',
      path: '/v1/podcasts/:id/script',
      operationId: 'updatePodcastScript',
      tag: 'podcasts',
      scope: 'podcast',
      summary: "Edit a draft's script before approving it",
      auth: 'required',
      params: IdParams,
      body: z.strictObject({ script: z.array(ScriptLineIn).min(1).max(2000) }),
      responses: { 200: { description: 'The podcast with its new script' } },
      handler: async (ctx, { params, body, auth }) => {
        ctx.body = podcastWithJobView(await podcasts.updateScript(auth!.user, params.id, body.script), publicUrl);
      },
    }),
    route({
      method: 'post',
      path: '/v1/podcasts/:id/generate',
      operationId: 'generatePodcast',
      tag: 'podcasts',
      scope: 'podcast',
      summary: "Approve a draft's script, or retry a failed or canceled podcast",
      auth: 'required',
      params: IdParams,
      responses: { 202: { description: 'The job that now runs' } },
      handler: async (ctx, { params, auth }) => {
        ctx.status = 202;
        ctx.body = { job: jobView(await podcasts.generate(auth!.user, params.id)) };
      },
    }),
    route({
      method: 'post',
      path: '/v1/podcasts/:id/cancel',
      operationId: 'cancelPodcast',
      tag: 'podcasts',
      scope: 'podcast',
      summary: 'Stop a running podcast; partial work is removed and nothing is charged',
      auth: 'required',
      params: IdParams,
      responses: { 202: { description: 'Cancellation requested' } },
      handler: async (ctx, { params, auth }) => {
        ctx.status = 202;
        ctx.body = { job: jobView(await podcasts.cancel(auth!.user, params.id)) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/podcasts/:id/transcript',
      operationId: 'getPodcastTranscript',
      tag: 'podcasts',
      scope: 'podcast',
      summary: "The completed podcast's timed transcript: WebVTT with voice tags (default), SRT or JSON",
      auth: 'optional',
      params: IdParams,
      query: z.strictObject({ format: z.enum(['vtt', 'srt', 'json']).default('vtt') }),
      responses: {
        200: { description: 'The transcript', contentType: 'text/vtt' },
        409: { description: 'Not completed yet' },
      },
      handler: async (ctx, { params, query, auth }) => {
        sendTranscript(ctx, await podcasts.published(auth?.user ?? null, params.id), query.format);
      },
    }),
    route({
      method: 'get',
      path: '/v1/podcasts/:id/chapters',
      operationId: 'getPodcastChapters',
      tag: 'podcasts',
      scope: 'podcast',
      summary: "The completed podcast's chapters (Podcasting 2.0 JSON chapters), one per script section",
      auth: 'optional',
      params: IdParams,
      responses: { 200: { description: 'The chapters', contentType: 'application/json+chapters' }, 409: { description: 'Not completed yet' } },
      handler: async (ctx, { params, auth }) => {
        sendChapters(ctx, await podcasts.published(auth?.user ?? null, params.id));
      },
    }),
    route({
      method: 'get',
      path: '/v1/podcasts/:id/file',
      operationId: 'downloadPodcastFile',
      tag: 'podcasts',
      scope: 'podcast',
      summary: "The podcast's MP3 (Range supported)",
      auth: 'required',
      params: IdParams,
      responses: { 200: { description: 'audio/mpeg', contentType: 'audio/mpeg' }, 206: { description: 'Partial content' } },
      handler: async (ctx, { params, auth }) => {
        const p = await podcasts.owned(auth!.user, params.id);
        if (p.status !== 'completed') throw new AppError('NOT_FOUND', 'This podcast has no audio yet');
        await sendPodcastFile(ctx, deps, p);
      },
    }),
  ];
}
