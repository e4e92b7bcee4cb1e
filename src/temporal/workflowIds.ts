/**
 * Workflow ids are business ids, so a podcast's runs are `podcast-<podcastId>` and an audio's
 * `audio-<audioId>`. Kept apart from the run starters, which import the workflows' types.
 */
export const podcastWorkflowId = (podcastId: string) => `podcast-${podcastId}`;
export const audioWorkflowId = (audioId: string) => `audio-${audioId}`;
/** One event to one endpoint: started once per pair, however often the event is emitted. */
export const webhookDeliveryWorkflowId = (endpointId: string, eventId: string) => `webhook-${endpointId}-${eventId}`;
