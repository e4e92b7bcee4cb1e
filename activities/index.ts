import type { Knex } from 'knex';
import type { Config } from '../src/config';
import type { Logger } from '../src/logger';
import type { Providers } from '../src/providers';
import type { Storage } from '../src/storage/types';
import { createAudioActivities } from './audio';
import { createBillingActivities } from './billing';
import { createOperationsActivities } from './operations';
import { createPodcastActivities } from './podcast';

/** What activities need from the outside world, injected by the worker (and by tests). */
export interface ActivityDeps {
  config: Config;
  knex: Knex;
  logger: Logger;
  storage: Storage;
  providers: Providers;
}

/** Activities are created by a factory so that each receives its dependencies explicitly. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPodcastActivities(deps),
    ...createAudioActivities(deps),
    ...createBillingActivities(deps),
    ...createOperationsActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
