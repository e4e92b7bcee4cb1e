import type { Knex } from 'knex';
import type { Config } from '../src/config';
import type { Logger } from '../src/logger';

/** What activities need from the outside world, injected by the worker (and by tests). */
export interface ActivityDeps {
  config: Config;
  knex: Knex;
  logger: Logger;
}

/** Activities are created by a factory so that each receives its dependencies explicitly. */
export function createActivities(_deps: ActivityDeps) {
  return {};
}

export type Activities = ReturnType<typeof createActivities>;
