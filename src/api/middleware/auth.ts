import type { Context } from 'koa';
import type { Accounts, AuthContext } from '../../services/accounts';
import { unauthenticated } from '../errors';
import type { AuthMode } from '../route';

export type { AuthContext };

/** Reads `Authorization: Bearer <token>` or `X-API-Key`, and resolves the caller. */
export function createAuthenticator(accounts: Accounts) {
  return async function authenticate(ctx: Context, mode: AuthMode): Promise<AuthContext | null> {
    if (mode === 'none') return null;
    const header = ctx.get('authorization');
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    const token = bearer ?? (ctx.get('x-api-key') || undefined);
    if (!token) {
      if (mode === 'optional') return null;
      throw unauthenticated();
    }
    const auth = token.startsWith('st_') ? await accounts.fromSessionToken(token) : null;
    if (!auth) throw unauthenticated('Invalid or expired credentials');
    ctx.state.auth = auth;
    return auth;
  };
}
