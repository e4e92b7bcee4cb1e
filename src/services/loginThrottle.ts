import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { RateLimiterPostgres } from 'rate-limiter-flexible';
import { consume } from './rateLimits';

/**
 * Slows down password guessing: sign-in attempts are counted per email and per IP in PostgreSQL,
 * so every API process shares the counts. An attempt is counted before its password is checked,
 * in one atomic upsert, so parallel guesses cannot all read "not blocked": at most the limit of
 * them reach the password check in a window. A success gives its attempt back (and clears the
 * email's count), so both limits count failures only, as users expect.
 */
export class LoginThrottle {
  private readonly byEmail: RateLimiterPostgres;
  private readonly byIp: RateLimiterPostgres;

  constructor(knex: Knex, opts: { maxPerEmail: number; maxPerIp: number; windowSec: number }) {
    // No blockDuration: a refused attempt must not push the end of the lock-out further; the
    // window that began with the first counted attempt decides when signing in works again.
    const common = { storeClient: knex, storeType: 'knex', tableName: 'rate_limits', tableCreated: true, duration: opts.windowSec };
    this.byEmail = new RateLimiterPostgres({ ...common, keyPrefix: 'login_email', points: opts.maxPerEmail });
    this.byIp = new RateLimiterPostgres({ ...common, keyPrefix: 'login_ip', points: opts.maxPerIp });
  }

  /**
   * Counts a sign-in attempt before its password is checked. Returns 0 when it may go ahead, else
   * the seconds to wait (Retry-After). A refused attempt stays counted only by the limit that
   * refused it, so a blocked IP does not use up an email's attempts, nor a blocked email its IP's.
   */
  async begin(rawEmail: string, ip: string): Promise<number> {
    const email = emailKey(rawEmail);
    const [e, i] = await Promise.all([consume(this.byEmail, email, this.byEmail.points), consume(this.byIp, ip, this.byIp.points)]);
    if (e.allowed && i.allowed) return 0;
    await Promise.all([e.allowed && this.byEmail.reward(email), i.allowed && this.byIp.reward(ip)]);
    return Math.max(...[e, i].filter((s) => !s.allowed).map((s) => s.resetSec));
  }

  /** A failed attempt stays counted: begin() already counted it. */
  async succeeded(email: string, ip: string): Promise<void> {
    await Promise.all([this.byEmail.delete(emailKey(email)), this.byIp.reward(ip)]);
  }
}

/** Counter keys are at most 255 characters (rate_limits.key) and an email may be as long: count by its hash. */
const emailKey = (email: string) => crypto.createHash('sha256').update(email).digest('base64url');
