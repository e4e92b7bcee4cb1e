import type { Context } from 'koa';
import type { Accounts } from '../../services/accounts';
import type { ApiKeys } from '../../services/apiKeys';
import type { RateLimits } from '../../services/rateLimits';
import { forbidden, unauthenticated } from '../../errors';
import type { AuthContext, AuthMode } from '../route';
import { limitApiKey } from './rateLimit';

/** Reads `Authorization: Bearer <token>` or `X-API-Key`, and resolves the caller. */
export function createAuthenticator(accounts: Accounts, apiKeys: ApiKeys, limits: RateLimits) {
  return async function authenticate(ctx: Context, mode: AuthMode): Promise<AuthContext | null> {
    if (mode === 'none') return null;
    const header = ctx.get('authorization');
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
}
