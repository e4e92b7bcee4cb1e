import type { Knex } from 'knex';
import { UniqueViolationError } from 'objection';
import { ApiError, conflict, rateLimited, unauthenticated } from '../api/errors';
import { Session, User } from '../models';
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

const BAD_CREDENTIALS = 'Invalid email or password';

export class Accounts {
  constructor(
    private readonly knex: Knex,
    private readonly throttle: LoginThrottle,
    private readonly sessionTtlDays: number,
  ) {}

  async register(input: { email: string; password: string; name?: string | null }, meta: RequestMeta) {
    const email = normaliseEmail(input.email);
    const password_hash = await hashPassword(input.password);
    try {
      const user = await User.query(this.knex).insertAndFetch({
        email,
        password_hash,
        name: input.name ?? null,
        // The monthly reset (seed query 3.5) only touches users whose reset time has come.
        quota_reset_at: this.knex.raw(`DATE_TRUNC('month', NOW() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + INTERVAL '1 month'`) as unknown as Date,
      });
      return { user, token: await this.openSession(user, meta) };
    } catch (err) {
      if (err instanceof UniqueViolationError) throw conflict('An account with this email already exists');
      throw err;
    }
  }

  async login(input: { email: string; password: string }, meta: RequestMeta) {
    const email = normaliseEmail(input.email);
    const wait = await this.throttle.retryAfter(email, meta.ip);
    if (wait > 0) throw rateLimited(wait, 'Too many failed sign-in attempts; try again later');

    const user = await User.query(this.knex).findOne({ email });
    const ok = await verifyPassword(user?.password_hash ?? null, input.password);
    if (!user || !ok || !user.is_active) {
      await this.throttle.recordFailure(email, meta.ip);
      throw unauthenticated(BAD_CREDENTIALS);
    }
    await this.throttle.recordSuccess(email);
    const updated = await user.$query(this.knex).patchAndFetch({ last_login_at: new Date() });
    return { user: updated, token: await this.openSession(updated, meta) };
  }

  /**
   * Signs in a user whom someone else has already authenticated (an OAuth provider): records the
   * login and opens a session, the same kind login gives. The caller checks is_active.
   */
  async signInAuthenticated(user: User, meta: RequestMeta) {
    const updated = await user.$query(this.knex).patchAndFetch({ last_login_at: new Date() });
    return { user: updated, token: await this.openSession(updated, meta) };
  }

  async logout(sessionId: string): Promise<void> {
    await Session.query(this.knex).deleteById(sessionId);
  }

  /** The signed-in user behind a session token, or null when it is unknown, expired or revoked. */
  async fromSessionToken(token: string): Promise<AuthContext | null> {
    const session = await Session.query(this.knex)
      .findOne({ token_hash: sha256Hex(token) })
      .where('expires_at', '>', new Date())
      .withGraphJoined('user');
    const user = (session as (Session & { user?: User }) | undefined)?.user;
    if (!session || !user || !user.is_active) return null;
    return { user, via: 'session', sessionId: session.id };
  }

  /** Seed query 3.2: the caller's quota. */
  async quota(userId: string) {
    const row = await this.knex
      .select('plan', 'quota_limit', 'quota_used', 'quota_reserved', 'quota_reset_at', this.knex.raw('(quota_limit - quota_used) AS remaining'))
      .from('users')
      .where({ id: userId })
      .first();
    if (!row) throw new ApiError('NOT_FOUND', 'User not found');
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
    await Session.query(this.knex).insert({
      user_id: user.id,
      token_hash: sha256Hex(token),
      ip: meta.ip.slice(0, 64),
      user_agent: meta.userAgent?.slice(0, 255) ?? null,
      expires_at: new Date(Date.now() + this.sessionTtlDays * 86_400_000),
    });
    return token;
  }
}
