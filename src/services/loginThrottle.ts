import type { Knex } from 'knex';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * Slows down password guessing: failed logins are counted per email and per IP in PostgreSQL,
 * so every API process shares the counts. Once either count reaches its limit, logins for that
 * email or from that IP are refused until the window passes; a success clears the email's count.
 */
export class LoginThrottle {
  private readonly byEmail: RateLimiterPostgres;
  private readonly byIp: RateLimiterPostgres;

  constructor(knex: Knex, opts: { maxPerEmail: number; maxPerIp: number; windowSec: number }) {
    const common = { storeClient: knex, storeType: 'knex', tableName: 'rate_limits', tableCreated: true, duration: opts.windowSec };
    this.byEmail = new RateLimiterPostgres({ ...common, keyPrefix: 'login_email', points: opts.maxPerEmail, blockDuration: opts.windowSec });
    this.byIp = new RateLimiterPostgres({ ...common, keyPrefix: 'login_ip', points: opts.maxPerIp, blockDuration: opts.windowSec });
  }

  /** Seconds to wait before trying again, or 0 when a login attempt may go ahead. */
  async retryAfter(email: string, ip: string): Promise<number> {
    const [e, i] = await Promise.all([this.byEmail.get(email), this.byIp.get(ip)]);
    const blocked = [
      [e, this.byEmail.points],
      [i, this.byIp.points],
    ].filter(([res, points]) => res && (res as RateLimiterRes).consumedPoints >= (points as number)) as [RateLimiterRes, number][];
    if (blocked.length === 0) return 0;
    return Math.max(1, ...blocked.map(([res]) => Math.ceil(res.msBeforeNext / 1000)));
  }

  async recordFailure(email: string, ip: string): Promise<void> {
    // consume() rejects once the limit is passed; that rejection is the block we want, not an error.
    await Promise.allSettled([this.byEmail.consume(email), this.byIp.consume(ip)]);
  }

  async recordSuccess(email: string): Promise<void> {
    await this.byEmail.delete(email);
  }
}
