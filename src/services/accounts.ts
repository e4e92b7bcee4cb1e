import type { Knex } from 'knex';
import { LRUCache } from 'lru-cache';
import type { JobChanges } from '../jobs/jobChanges';
import { AppError, conflict, rateLimited, unauthenticated } from '../errors';
import { isUniqueViolation } from '../db';
import type { User } from '../models';
import { LoginThrottle } from './loginThrottle';
import { hashPassword, verifyPassword } from './passwords';
import { newSecret, sha256Hex } from './tokens';

export interface RequestMeta {
  ip: string;
  userAgent?: string;
}

export interface AuthContext {
  user: User;
  via: 'session' | 'apiKey';
  sessionId?: string;
}

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

export function userView(u: User) {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    avatarUrl: u.avatar_url,
    plan: u.plan,
    isVerified: u.is_verified,
    createdAt: u.created_at.toISOString(),
  };
}

/** The first monthly quota reset: the start of next month, UTC (seed query 3.5 resets from there). */
export const FIRST_QUOTA_RESET = `DATE_TRUNC('month', NOW() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + INTERVAL '1 month'`;

/**
 * SESSION_CACHE_MS: how long an API process may vouch for a session it has looked up without
 * asking the database again; it saves a polling client's session query on every poll. A cached
 * session is forgotten the moment the database says it or its user changed (NOTIFY auth_changed,
 * migration 011: a logout in any process, a deactivation, a new plan), so the bound only matters
 * if that notification is lost: while the listening connection is down every cached session is
 * dropped every few seconds, and a change that commits during the very first lookup may be seen
 * that much later. An expired session is never answered from the cache.
 */
export const AUTH_CHANGED = 'auth_changed';

interface CachedSession {
  auth: AuthContext;
  stopWatching: Array<() => void>;
}

// Every column of User, listed because a prepared statement must not select `*`: a column added
// by a migration would make it fail ("cached plan must not change result type") until reconnect.
const USER_COLUMNS = Object.keys({
  id: 1,
  email: 1,
  password_hash: 1,
  name: 1,
  avatar_url: 1,
  plan: 1,
  quota_limit: 1,
  quota_used: 1,
  quota_reserved: 1,
  quota_reset_at: 1,
  google_id: 1,
  github_id: 1,
  is_active: 1,
  is_verified: 1,
  created_at: 1,
  updated_at: 1,
  last_login_at: 1,
} satisfies Record<keyof User, 1>)
  .map((c) => `u.${c}`)
  .join(', ');

const BAD_CREDENTIALS = 'Invalid email or password';

export class Accounts {
  /** Session token hash → the caller it resolved to, when SESSION_CACHE_MS is set. */
  private readonly sessions: LRUCache<string, CachedSession> | null;
  /** Counts logouts, so a lookup that raced one does not put the revoked session back in the cache. */
  private revocations = 0;

  constructor(
    private readonly knex: Knex,
    private readonly throttle: LoginThrottle,
    private readonly sessionTtlDays: number,
    private readonly sessionCacheMs = 0,
    /** Changes to sessions and users (channel AUTH_CHANGED); without it nothing is cached. */
    private readonly authChanges: JobChanges | null = null,
  ) {
    this.sessions =
      sessionCacheMs > 0 && authChanges
        ? new LRUCache<string, CachedSession>({
            max: 10_000,
            ttl: sessionCacheMs,
            dispose: (entry) => {
              for (const stop of entry.stopWatching) stop();
            },
          })
        : null;
  }

  async register(input: { email: string; password: string; name?: string | null }, meta: RequestMeta) {
    const email = normaliseEmail(input.email);
    const password_hash = await hashPassword(input.password);
    try {
      const [user] = await this.knex('users')
        .insert({
          email,
          password_hash,
          name: input.name ?? null,
          // The monthly reset (seed query 3.5) only touches users whose reset time has come.
          quota_reset_at: this.knex.raw(FIRST_QUOTA_RESET),
        })
        .returning('*');
      if (!user) throw new Error('insert returned no user');
      return { user, token: await this.openSession(user, meta) };
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('An account with this email already exists');
      throw err;
    }
  }

  async login(input: { email: string; password: string }, meta: RequestMeta) {
    const email = normaliseEmail(input.email);
    // Counted before the password check, so parallel guesses cannot slip past the limit.
    const wait = await this.throttle.begin(email, meta.ip);
    if (wait > 0) throw rateLimited(wait, 'Too many failed sign-in attempts; try again later');

    const user = await this.knex('users').where({ email }).first();
    const ok = await verifyPassword(user?.password_hash ?? null, input.password);
    if (!user || !ok || !user.is_active) throw unauthenticated(BAD_CREDENTIALS);
    await this.throttle.succeeded(email, meta.ip);
    return this.signInAuthenticated(user, meta);
  }

  /**
   * Signs in a user whom someone else has already authenticated (an OAuth provider): records the
   * login and opens a session, the same kind login gives. The caller checks is_active.
   */
  async signInAuthenticated(user: User, meta: RequestMeta) {
    const [updated = user] = await this.knex('users').where({ id: user.id }).update({ last_login_at: new Date() }).returning('*');
    return { user: updated, token: await this.openSession(updated, meta) };
  }

  async logout(sessionId: string): Promise<void> {
    await this.knex('sessions').where({ id: sessionId }).delete();
    this.revocations++;
    if (!this.sessions) return;
    for (const [hash, entry] of this.sessions.entries()) if (entry.auth.sessionId === sessionId) this.sessions.delete(hash);
  }

  /** The signed-in user behind a session token, or null when it is unknown, expired or revoked. */
  async fromSessionToken(token: string): Promise<AuthContext | null> {
    const tokenHash = sha256Hex(token);
    const cached = this.sessions?.get(tokenHash);
    if (cached) return cached.auth;
    const revocations = this.revocations;
    // A named (prepared) statement: this runs for nearly every request, so PostgreSQL plans it once per connection.
    const { rows } = await this.knex
      .raw<{ rows: (User & { session_id: string; session_expires_at: Date })[] }>(
        `SELECT ${USER_COLUMNS}, s.id AS session_id, s.expires_at AS session_expires_at
           FROM sessions s JOIN users u ON u.id = s.user_id
          WHERE s.token_hash = ? AND s.expires_at > now() AND u.is_active`,
        [tokenHash],
      )
      .options({ name: 'session-user' });
    if (!rows[0]) return null;
    const { session_id, session_expires_at, ...user } = rows[0];
    const auth: AuthContext = { user, via: 'session', sessionId: session_id };
    const ttl = Math.min(this.sessionCacheMs, session_expires_at.getTime() - Date.now());
    if (this.sessions && ttl > 0) await this.remember(tokenHash, auth, ttl, revocations);
    return auth;
  }

  /** Caches a looked-up session until its row or its user's changes (or `ttl` passes). */
  private async remember(tokenHash: string, auth: AuthContext, ttl: number, revocations: number) {
    const forget = { changed: () => this.sessions?.delete(tokenHash), closed: () => this.sessions?.delete(tokenHash) };
    const stopWatching = await Promise.all([
      this.authChanges!.watch(`session:${auth.sessionId}`, forget),
      this.authChanges!.watch(`user:${auth.user.id}`, forget),
    ]).catch(() => null); // shutting down: just do not cache
    if (!stopWatching) return;
    if (revocations !== this.revocations) {
      for (const stop of stopWatching) stop();
      return;
    }
    this.sessions?.set(tokenHash, { auth, stopWatching }, { ttl });
  }

  /** Seed query 3.2: the caller's quota. */
  async quota(userId: string) {
    const row = await this.knex
      .select('plan', 'quota_limit', 'quota_used', 'quota_reserved', 'quota_reset_at', this.knex.raw('(quota_limit - quota_used) AS remaining'))
      .from('users')
      .where({ id: userId })
      .first();
    if (!row) throw new AppError('NOT_FOUND', 'User not found');
    return {
      limit: row.quota_limit as number,
      used: row.quota_used as number,
      remaining: row.remaining as number,
      // Held by jobs still running; settled at completion or released on failure.
      reserved: row.quota_reserved as number,
      resetAt: row.quota_reset_at ? (row.quota_reset_at as Date).toISOString() : null,
    };
  }

  private async openSession(user: User, meta: RequestMeta): Promise<string> {
    const token = newSecret('st_');
    await this.knex('sessions').insert({
      user_id: user.id,
      token_hash: sha256Hex(token),
      ip: meta.ip.slice(0, 64),
      user_agent: meta.userAgent?.slice(0, 255) ?? null,
      expires_at: new Date(Date.now() + this.sessionTtlDays * 86_400_000),
    });
    return token;
  }
}
