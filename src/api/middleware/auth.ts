import type { Context } from 'koa';
import type { Accounts } from '../../services/accounts';
import type { ApiKeys } from '../../services/apiKeys';
import type { RateLimits } from '../../services/rateLimits';
import { forbidden, unauthenticated } from '../../errors';
import type { AuthContext, AuthMode } from '../route';
import { csrfTokenValid, SESSION_COOKIE } from '../studio';
import { limitApiKey } from './rateLimit';

// Methods that change nothing: a cookie-authenticated request needs no CSRF token for them.
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Reads `Authorization: Bearer <token>` or `X-API-Key`, and resolves the caller. A request with
 * neither may be the studio's: its session cookie then authenticates it, and any unsafe method
 * must prove with X-CSRF-Token that the studio's own page sent it.
 */
export function createAuthenticator(accounts: Accounts, apiKeys: ApiKeys, limits: RateLimits) {
  return async function authenticate(ctx: Context, mode: AuthMode): Promise<AuthContext | null> {
    if (mode === 'none') return null;
    const header = ctx.get('authorization');
    if (!header && !ctx.get('x-api-key')) {
      const cookie = ctx.cookies.get(SESSION_COOKIE);
      if (cookie) return fromCookie(ctx, mode, cookie);
    }
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    const token = bearer ?? (ctx.get('x-api-key') || undefined);
    if (!token) {
      if (mode === 'optional') return null;
      throw unauthenticated();
    }
    const auth: AuthContext | null = token.startsWith('st_')
      ? await accounts.fromSessionToken(token)
      : token.startsWith('ak_')
        ? await apiKeys.authenticate(token)
        : null;
    if (!auth) throw unauthenticated('Invalid or expired credentials');
    if (auth.apiKey) {
      // Counted first, so refused requests use up a key's budget too.
      await limitApiKey(ctx, limits, auth.apiKey);
      // A key outlives a downgrade; it works again if the team plan comes back.
      if (auth.user.plan !== 'team') throw forbidden('API keys need the team plan');
    }
    ctx.state.auth = auth;
    return auth;
  };

  async function fromCookie(ctx: Context, mode: AuthMode, token: string): Promise<AuthContext | null> {
    const session = token.startsWith('st_') ? await accounts.fromSessionToken(token) : null;
    if (!session) {
      // A stale cookie on a public route is a signed-out visitor, not an error.
      if (mode === 'optional') return null;
      throw unauthenticated('Invalid or expired session; sign in again');
    }
    // The browser sends the cookie with any same-site request; only the studio's page can read the CSRF token.
    if (!SAFE_METHODS.has(ctx.method) && !csrfTokenValid(token, ctx.get('x-csrf-token') || undefined)) {
      throw forbidden('CSRF token missing or invalid');
    }
    const auth: AuthContext = { ...session, cookieToken: token };
    ctx.state.auth = auth;
    return auth;
  }
}
