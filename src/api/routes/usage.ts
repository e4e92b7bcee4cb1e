import type { Knex } from 'knex';
import { z } from 'zod';
import { monthlyUsage } from '../../services/usage';
import { route } from '../route';

// Year 0000 does not exist (PostgreSQL refuses it).
const Month = z.string().regex(/^(?!0000)\d{4}-(0[1-9]|1[0-2])$/, 'a month as YYYY-MM');

export function usageRoutes(knex: Knex) {
  return [
    route({
      method: 'get',
      path: '/v1/usage',
      operationId: 'getUsage',
      tag: 'usage',
      summary: "The caller's usage for a month (UTC): totals and per-day figures",
      auth: 'required',
      query: z.object({ month: Month.optional() }),
      responses: {
        200: {
          description: 'Usage',
          schema: z.object({
            month: z.string(),
            totals: z.object({ requests: z.number(), duration: z.number(), chars: z.number(), cost: z.number() }),
            days: z.array(z.object({ date: z.string(), requests: z.number(), duration: z.number(), chars: z.number() })),
          }),
        },
      },
      handler: async (ctx, { query, auth }) => {
        ctx.body = await monthlyUsage(knex, auth!.user.id, query.month ?? new Date().toISOString().slice(0, 7));
      },
    }),
  ];
}
