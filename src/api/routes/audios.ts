import { z } from 'zod';
import type { Logger } from '../../logger';
import type { AudioService } from '../../services/audios';
import type { Storage } from '../../storage/types';
import type { AuthContext } from '../route';
import { route } from '../route';
import { sendStoredFile } from '../sendStoredFile';
import { audioLookupResponse, audioView } from '../views';
import { IdParams, idempotencyKeyOf, ListQuery, NOT_BLANK } from './common';

const CreateAudio = z.strictObject({
  // Over the service's limit is 413, not 400: the upper bound here only caps parsing.
  text: z.string().min(1).max(1_000_000).regex(NOT_BLANK, 'must not be blank'),
  voiceId: z.string().min(1).max(50),
  title: z.string().regex(NOT_BLANK, 'must not be blank').trim().min(1).max(200).optional(),
  speed: z.number().min(0.5).max(2).default(1),
  emotion: z.string().regex(NOT_BLANK, 'must not be blank').trim().min(1).max(20).default('neutral'),
  format: z.enum(['mp3', 'wav']).default('mp3'),
});

export function audioRoutes(deps: { audios: AudioService; storage: Storage; logger: Logger; publicUrl?: string }) {
  const { audios } = deps;
  return [
    route({
      method: 'post',
      path: '/v1/audios',
      operationId: 'createAudio',
      tag: 'audios',
      scope: 'tts',
      summary: 'Turn text into speech',
      auth: 'required',
      body: CreateAudio,
      responses: { 202: { description: 'Accepted: {id, status: "processing"}' } },
      handler: async (ctx, { body, auth }) => {
        const { id } = await audios.create(auth!.user, body, idempotencyKeyOf(ctx));
        ctx.status = 202;
        ctx.body = { id, status: 'processing' };
      },
    }),
    route({
      method: 'post',
      path: '/v1/audios/estimate',
      operationId: 'estimateAudio',
      tag: 'audios',
      scope: 'tts',
      summary: 'What this text to speech would cost and take (duration, quota, ETA); creates and reserves nothing',
      auth: 'required',
      body: CreateAudio,
      responses: { 200: { description: '{estimatedDuration, quotaCost, quotaRemaining, fits, etaSeconds}' } },
      handler: async (ctx, { body, auth }) => {
        ctx.body = await audios.estimate(auth!.user, body);
      },
    }),
    route({
      method: 'get',
      path: '/v1/audios',
      operationId: 'listAudios',
      tag: 'audios',
      scope: 'tts',
      summary: "The caller's audio library (seed query 3.1), newest first",
      auth: 'required',
      query: ListQuery.extend({ type: z.enum(['tts', 'podcast']).optional() }),
      responses: { 200: { description: 'A page of audios' } },
      handler: async (ctx, { query, auth }) => {
        const page = await audios.list(auth!.user, query);
        ctx.body = { ...page, items: page.items.map((a) => audioView(a, deps.publicUrl)) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/audios/:id',
      operationId: 'getAudio',
      tag: 'audios',
      scope: 'tts',
      summary: 'An audio: 200 when done or failed, 202 while processing',
      auth: 'required',
      params: IdParams,
      responses: { 200: { description: 'The audio, or its failure' }, 202: { description: 'Still processing, with progress' } },
      handler: async (ctx, { params, auth }) => {
        const res = audioLookupResponse(await audios.get(auth!.user, params.id), deps.publicUrl);
        ctx.status = res.status;
        ctx.body = res.body;
      },
    }),
    route({
      method: 'patch',
      path: '/v1/audios/:id',
      operationId: 'updateAudio',
      tag: 'audios',
      scope: 'tts',
      summary: 'Rename an audio or change whether it is public',
      auth: 'required',
      params: IdParams,
      body: z
        .strictObject({
          title: z.string().regex(NOT_BLANK, 'must not be blank').trim().min(1).max(200).nullable().optional(),
          isPublic: z.boolean().optional(),
        })
        .refine((b) => b.title !== undefined || b.isPublic !== undefined, 'give title or isPublic')
        // What the refinement means, for the OpenAPI document (both keys are the only ones allowed).
        .meta({ minProperties: 1 }),
      responses: { 200: { description: 'The updated audio' } },
      handler: async (ctx, { params, body, auth }) => {
        ctx.body = audioLookupResponse(await audios.update(auth!.user, params.id, body), deps.publicUrl).body;
      },
    }),
    route({
      method: 'delete',
      path: '/v1/audios/:id',
      operationId: 'deleteAudio',
      tag: 'audios',
      scope: 'tts',
      summary: 'Remove an audio from the library (soft delete)',
      auth: 'required',
      params: IdParams,
      responses: { 204: { description: 'Deleted' } },
      handler: async (ctx, { params, auth }) => {
        await audios.remove(auth!.user, params.id);
        ctx.status = 204;
      },
    }),
    route({
      method: 'get',
      path: '/v1/audios/:id/file',
      operationId: 'downloadAudioFile',
      tag: 'audios',
      scope: 'tts',
      summary: "The audio's bytes (Range supported); public audios need no auth",
      auth: 'optional',
      params: IdParams,
      responses: { 200: { description: 'audio/mpeg or audio/wav', contentType: 'audio/mpeg' }, 206: { description: 'Partial content' } },
      handler: async (ctx, { params, auth }) => {
        const file = await audios.fileOf((auth as AuthContext | null)?.user ?? null, params.id);
        await sendStoredFile(ctx, deps.storage, deps.storage.keyOf(file.uri), {
          contentType: file.format === 'wav' ? 'audio/wav' : 'audio/mpeg',
          filename: `${file.title ?? 'audio'}.${file.format}`,
          logger: deps.logger,
        });
      },
    }),
  ];
}
