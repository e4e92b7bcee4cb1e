import type { ActivityDeps } from './deps';
import { createAudioActivities } from './audio';
import { createBillingActivities } from './billing';
import { createJobActivities } from './jobs';
import { createOperationsActivities } from './operations';
import { createPodcastActivities } from './podcast';

/** Activities are created by a factory so that each receives its dependencies explicitly. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPodcastActivities(deps),
    ...createAudioActivities(deps),
    ...createBillingActivities(deps),
    ...createOperationsActivities(deps),
    ...createJobActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps };
