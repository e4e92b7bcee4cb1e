import type { Knex } from 'knex';
import { z } from 'zod';
import type { Metrics } from '../../metrics';
import type { TemporalGateway } from '../../temporal/client';
import { AppError } from '../../errors';
import { route } from '../route';

async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(deps: { knex: Knex; temporal: TemporalGateway; metrics: Metrics }) {
  return [
    route({
      method: 'get',
      path: '/healthz',
      operationId: 'getHealth',
      tag: 'operations',
      summary: 'Liveness: the process is up',
      auth: 'none',
      responses: { 200: { description: 'Up', schema: z.object({ status: z.literal('ok') }) } },
      handler: async (ctx) => {
        ctx.body = { status: 'ok' };
      },
    }),
    route({
      method: 'get',
      path: '/readyz',
      operationId: 'getReadiness',
      tag: 'operations',
      summary: 'Readiness: PostgreSQL and Temporal answer',
      auth: 'none',
      responses: {
        200: { description: 'Ready', schema: z.object({ status: z.literal('ready'), checks: z.record(z.string(), z.string()) }) },
        503: { description: 'A dependency is down (named in details)' },
      },
      handler: async (ctx) => {
        const [db, temporal] = await Promise.allSettled([within(2000, deps.knex.raw('SELECT 1')), within(2500, deps.temporal.check())]);
        const checks = {
          postgres: db.status === 'fulfilled' ? 'ok' : `failed: ${(db.reason as Error).message}`,
          temporal: temporal.status === 'fulfilled' ? 'ok' : `failed: ${(temporal.reason as Error).message}`,
        };
        if (db.status === 'rejected' || temporal.status === 'rejected') {
          const down = Object.keys(checks).filter((k) => checks[k as keyof typeof checks] !== 'ok');
          throw new AppError('UNAVAILABLE', `Not ready: ${down.join(' and ')} unreachable`, { checks });
        }
        ctx.body = { status: 'ready', checks };
      },
    }),
    route({
      method: 'get',
      path: '/metrics',
      operationId: 'getMetrics',
      tag: 'operations',
      summary: 'Prometheus metrics',
      auth: 'none',
      responses: { 200: { description: 'Prometheus text format', schema: z.string(), contentType: 'text/plain' } },
      handler: async (ctx) => {
        ctx.type = deps.metrics.registry.contentType;
        ctx.body = await deps.metrics.registry.metrics();
      },
    }),
  ];
}
