import { z } from 'zod';
import { API_KEY_RATE_LIMIT, API_KEY_SCOPES, type ApiKeys } from '../../services/apiKeys';
import { route } from '../route';
import { IdParams, ListQuery, NOT_BLANK } from './common';

const CreateApiKey = z.strictObject({
  name: z.string().regex(NOT_BLANK, 'must not be blank').trim().min(1).max(100),
  scopes: z
    .array(z.enum(API_KEY_SCOPES))
    .min(1)
    .max(API_KEY_SCOPES.length)
    .default(['tts'])
    // Stored once each, in a stable order.
    .transform((s) => API_KEY_SCOPES.filter((x) => s.includes(x))),
  rateLimit: z.number().int().min(API_KEY_RATE_LIMIT.min).max(API_KEY_RATE_LIMIT.max).default(API_KEY_RATE_LIMIT.default),
  expiresAt: z.iso
    .datetime({ offset: true })
    .refine((v) => Date.parse(v) > Date.now(), 'must be in the future')
    .transform((v) => new Date(v))
    .optional(),
});

const ApiKeySchema = z.object({
  id: z.uuid(),
  name: z.string().nullable(),
  prefix: z.string(),
  scopes: z.array(z.enum(API_KEY_SCOPES)),
  rateLimit: z.number(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  createdAt: z.string(),
});

export function apiKeyRoutes(apiKeys: ApiKeys) {
  return [
    route({
      method: 'post',
      path: '/v1/api-keys',
      operationId: 'createApiKey',
      tag: 'api-keys',
      summary: 'Create an API key (team plan, signed-in session); the key is shown only in this response',
      auth: 'required',
      body: CreateApiKey,
      responses: { 201: { description: 'Created', schema: ApiKeySchema.extend({ key: z.string() }) } },
      handler: async (ctx, { body, auth }) => {
        ctx.status = 201;
        ctx.body = await apiKeys.create(auth!, body);
      },
    }),
    route({
      method: 'get',
      path: '/v1/api-keys',
      operationId: 'listApiKeys',
      tag: 'api-keys',
      summary: "The caller's API keys that are not revoked, newest first, without secrets (signed-in session)",
      auth: 'required',
      query: ListQuery,
      responses: {
        200: {
          description: 'A page of API keys',
          schema: z.object({ items: z.array(ApiKeySchema), total: z.number(), limit: z.number(), offset: z.number() }),
        },
      },
      handler: async (ctx, { query, auth }) => {
        ctx.body = await apiKeys.list(auth!, query);
      },
    }),
    route({
      method: 'delete',
      path: '/v1/api-keys/:id',
      operationId: 'deleteApiKey',
      tag: 'api-keys',
      summary: 'Revoke an API key at once (signed-in session)',
      auth: 'required',
      params: IdParams,
      responses: { 204: { description: 'Revoked' } },
      handler: async (ctx, { params, auth }) => {
        await apiKeys.revoke(auth!, params.id);
        ctx.status = 204;
      },
    }),
  ];
}
