import { failureInfo, laneActivities } from './shared';
import type { WebhookDeliveryInput, WebhookDeliveryResult } from './types';

// Each attempt is one activity on the operations lane, and its retry policy is the backoff API.md
// promises: the first retry 5 s after a failed attempt, then 10 s, 20 s … up to an hour apart, for
// 25 hours (at least 24, and the last retry gets in). An attempt has 10 s for its answer
// (src/webhooks/delivery.ts); the rest of its time is for reading the endpoint and logging it.
const attempts = () =>
  laneActivities('operations', {
    startToCloseTimeout: '20s',
    scheduleToCloseTimeout: '25h',
    retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1h', nonRetryableErrorTypes: ['WEBHOOK_TARGET_REFUSED'] },
  });

/**
 * One event to one endpoint (workflow id `webhook-<endpoint id>-<event id>`, started at most once:
 * src/webhooks/events.ts). Ends when the endpoint answers 2xx, is deleted, is refused by the
 * address policy, or retries run out; the run's result says which.
 */
export async function webhookDeliveryWorkflow(input: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
  try {
    return await attempts().deliverWebhook(input);
  } catch (err) {
    return { delivered: false, error: failureInfo(err).message };
  }
}
