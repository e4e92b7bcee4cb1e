import type { Knex } from 'knex';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';

/** Where a caller stands in the current one-minute window. */
export interface LimitState {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window restarts: Retry-After when refused. */
  resetSec: number;
}

const WINDOW_SEC = 60;

/**
 * Request rate limits, counted in PostgreSQL (the rate_limits table, like LoginThrottle) so every
 * API process shares them: per API key (each key's own requests per minute) and per user on the
 * endpoints that start generations.
 */
export class RateLimits {
  private readonly perKey: RateLimiterPostgres;
  private readonly perUserCreate: RateLimiterPostgres;

  constructor(knex: Knex, opts: { maxKeyLimit: number; userCreatesPerMin: number }) {
    const common = { storeClient: knex, storeType: 'knex', tableName: 'rate_limits', tableCreated: true, duration: WINDOW_SEC };
    // Keys carry limits of their own: one limiter that allows the largest counts every key, and
    // each count is compared with that key's limit below.
    this.perKey = new RateLimiterPostgres({ ...common, keyPrefix: 'api_key', points: opts.maxKeyLimit });
    this.perUserCreate = new RateLimiterPostgres({ ...common, keyPrefix: 'user_create', points: opts.userCreatesPerMin });
  }

  /** Counts one request of an API key against its per-minute limit. */
  consumeKey(keyId: string, limit: number): Promise<LimitState> {
    return consume(this.perKey, keyId, limit);
  }

  /** Counts one generation request (POST /v1/audios, /v1/podcasts) of a user, sessions and keys alike. */
  consumeUserCreate(userId: string): Promise<LimitState> {
    return consume(this.perUserCreate, userId, this.perUserCreate.points);
  }
}

/** Counts one request against `limit`; a refusal is a state, not an error. */
export async function consume(limiter: RateLimiterPostgres, key: string, limit: number): Promise<LimitState> {
  let res: RateLimiterRes;
  try {
    res = await limiter.consume(key);
  } catch (err) {
    // consume() rejects with the counts once its own limit is passed; anything else is a real failure.
    if (!(err instanceof RateLimiterRes)) throw err;
    res = err;
  }
  return {
    allowed: res.consumedPoints <= limit,
    limit,
    remaining: Math.max(0, limit - res.consumedPoints),
    resetSec: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
  };
}
