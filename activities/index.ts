import { providerLanesFor } from '../src/capacity/providerLanes';
import type { ActivityDeps } from './deps';
import { createAudioActivities } from './audio';
import { createBillingActivities } from './billing';
import { createJobActivities } from './jobs';
import { createOperationsActivities } from './operations';
import { createPodcastActivities } from './podcast';
import { createVoicePreviewActivities } from './voicePreviews';
import { createWebhookActivities } from './webhooks';

/** Activities are created by a factory so that each receives its dependencies explicitly. */
export function createActivities(deps: ActivityDeps) {
  // One set of provider lanes per worker process, shared by podcast lines and TTS chunks.
  const lanes = providerLanesFor(deps.knex, deps.config, deps.logger);
  return {
    ...createPodcastActivities(deps, lanes),
    ...createAudioActivities(deps, lanes),
    ...createBillingActivities(deps),
    ...createOperationsActivities(deps),
    ...createJobActivities(deps),
    ...createWebhookActivities(deps),
    ...createVoicePreviewActivities(deps, lanes),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps };
