/**
 * Workflow ids are business ids, so a podcast's runs are `podcast-<podcastId>` and an audio's
 * `audio-<audioId>`. Kept apart from the run starters, which import the workflows' types.
 */
export const podcastWorkflowId = (podcastId: string) => `podcast-${podcastId}`;
export const audioWorkflowId = (audioId: string) => `audio-${audioId}`;
