import { z } from 'zod';
import { forbidden } from '../../errors';
import { WEBHOOK_EVENT_TYPES } from '../../webhooks/events';
import type { WebhookService } from '../../services/webhooks';
import { route, type AuthContext } from '../route';
import { IdParams, ListQuery, NOT_BLANK } from './common';

const CreateWebhook = z.strictObject({
  url: z.string().regex(NOT_BLANK, 'must not be blank').trim().min(1).max(2048),
  events: z
    .array(z.enum(WEBHOOK_EVENT_TYPES))
    .min(1)
    .max(WEBHOOK_EVENT_TYPES.length)
    .default([...WEBHOOK_EVENT_TYPES])
    // Stored once each, in a stable order.
    .transform((e) => WEBHOOK_EVENT_TYPES.filter((x) => e.includes(x))),
});

const WebhookSchema = z.object({
  id: z.uuid(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
  createdAt: z.string(),
});

const DeliverySchema = z.object({
  eventId: z.string(),
  type: z.enum(WEBHOOK_EVENT_TYPES),
  attempt: z.number(),
  status: z.number().nullable().describe('The HTTP status the endpoint answered, or null when it did not answer'),
  error: z.string().nullable(),
  at: z.string(),
});

const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), total: z.number(), limit: z.number(), offset: z.number() });

/**
 * Events carry a user's podcasts and audios, so an API key may manage webhooks only with the `all`
 * scope: a `tts` key must not subscribe to podcasts it cannot read.
 */
function mayManage(auth: AuthContext | null): AuthContext {
  if (auth?.apiKey && !auth.apiKey.scopes.includes('all')) throw forbidden('Webhooks are managed with a signed-in session or an API key with the all scope');
  return auth!;
}

export function webhookRoutes(webhooks: WebhookService) {
  return [
    route({
      method: 'post',
      path: '/v1/webhooks',
      operationId: 'createWebhook',
      tag: 'webhooks',
      summary:
        'Register an endpoint for job events (at most 10 per user); the signing secret is shown only in this response. The URL must resolve to public addresses.',
      auth: 'required',
      body: CreateWebhook,
      responses: { 201: { description: 'Created', schema: WebhookSchema.extend({ secret: z.string() }) } },
      handler: async (ctx, { body, auth }) => {
        ctx.status = 201;
        ctx.body = await webhooks.create(mayManage(auth).user, body);
      },
    }),
    route({
      method: 'get',
      path: '/v1/webhooks',
      operationId: 'listWebhooks',
      tag: 'webhooks',
      summary: "The caller's webhook endpoints, newest first, without secrets",
      auth: 'required',
      query: ListQuery,
      responses: { 200: { description: 'A page of endpoints', schema: page(WebhookSchema) } },
      handler: async (ctx, { query, auth }) => {
        ctx.body = await webhooks.list(mayManage(auth).user, query);
      },
    }),
    route({
      method: 'delete',
      path: '/v1/webhooks/:id',
      operationId: 'deleteWebhook',
      tag: 'webhooks',
      summary: 'Delete an endpoint; deliveries in progress to it stop',
      auth: 'required',
      params: IdParams,
      responses: { 204: { description: 'Deleted' } },
      handler: async (ctx, { params, auth }) => {
        await webhooks.remove(mayManage(auth).user, params.id);
        ctx.status = 204;
      },
    }),
    route({
      method: 'get',
      path: '/v1/webhooks/:id/deliveries',
      operationId: 'listWebhookDeliveries',
      tag: 'webhooks',
      summary: 'Delivery attempts to the endpoint, most recent first (each retry is an attempt of its own)',
      auth: 'required',
      params: IdParams,
      query: ListQuery,
      responses: { 200: { description: 'A page of attempts', schema: page(DeliverySchema) } },
      handler: async (ctx, { params, query, auth }) => {
        ctx.body = await webhooks.deliveries(mayManage(auth).user, params.id, query);
      },
    }),
  ];
}
