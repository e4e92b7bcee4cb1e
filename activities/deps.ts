import type { Knex } from 'knex';
import type { Config } from '../src/config';
import type { Logger } from '../src/logger';
import type { Providers } from '../src/providers';
import type { Storage } from '../src/storage/types';

/** What activities need from the outside world, injected by the worker (and by tests). */
export interface ActivityDeps {
  config: Config;
  knex: Knex;
  logger: Logger;
  storage: Storage;
  providers: Providers;
}
