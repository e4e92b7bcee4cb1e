import crypto from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { Knex } from 'knex';
import type { WebhookDeliveryInput } from '../../workflows/types';
import type { Config } from '../config';
import { JobKindKey, UserIdKey } from '../temporal/searchAttributes';
import { webhookDeliveryWorkflowId } from '../temporal/workflowIds';

/** What a client may subscribe to (API.md: webhooks). */
export const WEBHOOK_EVENT_TYPES = ['podcast.completed', 'podcast.failed', 'audio.completed', 'audio.failed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * The same job and type always give the same id, so a completion retried after a crash emits the
 * event it emitted before, and its deliveries (one workflow per endpoint and event id) start once.
 */
export function webhookEventId(jobId: string, type: WebhookEventType): string {
  return `evt_${crypto.createHash('sha256').update(`${type}:${jobId}`).digest('hex').slice(0, 32)}`;
}

/** A job's end as an event: whose it is, and how to render its body (only if someone listens). */
export interface JobEvent {
  type: WebhookEventType;
  jobId: string;
  userId: string;
  /** When the job ended: fixed, so a re-rendered event is the same event. */
  at: Date;
  data: () => Promise<unknown>;
}

/**
 * Sends an event to each of its user's endpoints subscribed to its type: the body is stored once
 * (the first rendering wins, so every attempt signs the same bytes) and one delivery workflow per
 * endpoint starts, unless it has started before. Returns the event id, or null when nobody listens.
 */
export async function publishJobEvent(knex: Knex, client: Client, config: Config, event: JobEvent): Promise<string | null> {
  const endpoints = await knex('webhook_endpoints').where({ user_id: event.userId }).whereRaw('? = ANY(events)', [event.type]).pluck('id');
  if (endpoints.length === 0) return null;
  const id = webhookEventId(event.jobId, event.type);
  const body = JSON.stringify({ id, type: event.type, createdAt: event.at.toISOString(), data: await event.data() });
  await knex('webhook_events').insert({ id, user_id: event.userId, type: event.type, body, created_at: event.at }).onConflict('id').ignore();
  for (const endpointId of endpoints) await startWebhookDelivery(client, config, { endpointId, eventId: id }, event);
  return id;
}

async function startWebhookDelivery(client: Client, config: Config, input: WebhookDeliveryInput, event: Pick<JobEvent, 'type' | 'userId'>) {
  try {
    await client.workflow.start('webhookDeliveryWorkflow', {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowId: webhookDeliveryWorkflowId(input.endpointId, input.eventId),
      // Running: the same run goes on; closed: REJECT_DUPLICATE refuses a second one, so an event
      // that reached its endpoint is never sent again by a re-emission.
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      args: [input],
      memo: { eventType: event.type },
      typedSearchAttributes: new TypedSearchAttributes([
        { key: UserIdKey, value: event.userId },
        { key: JobKindKey, value: 'webhook' },
      ]),
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/** Housekeeping: events (and their delivery attempts) a month old; deliveries end after about 25 hours. */
export function removeExpiredWebhookEvents(knex: Knex): Promise<number> {
  return knex('webhook_events').where('created_at', '<', knex.raw(`NOW() - INTERVAL '30 days'`)).delete();
}
