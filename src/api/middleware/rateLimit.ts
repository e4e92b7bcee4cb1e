import type { Context } from 'koa';
import type { ApiKeyGrant } from '../../services/apiKeys';
import type { RateLimits } from '../../services/rateLimits';
import { rateLimited } from '../../errors';
import type { AuthContext, RouteSpec } from '../route';

// The endpoints that start generations, and uploads (each is read and extracted at once): limited
// per user, whether a session or a key calls them.
const CREATE_ROUTES = new Set(['post /v1/audios', 'post /v1/podcasts', 'post /v1/uploads']);

/** Counts a keyed request against the key's per-minute limit; RateLimit-* headers tell clients where they stand. */
export async function limitApiKey(ctx: Context, limits: RateLimits, key: ApiKeyGrant): Promise<void> {
  const state = await limits.consumeKey(key.id, key.rateLimit);
  ctx.set('RateLimit-Limit', String(state.limit));
  ctx.set('RateLimit-Remaining', String(state.remaining));
  ctx.set('RateLimit-Reset', String(state.resetSec));
  if (!state.allowed) throw rateLimited(state.resetSec, `This API key allows ${state.limit} requests per minute`);
}

/** The per-user limit on generation requests, run by mount() once the caller may use the route. */
export function createRouteLimiter(limits: RateLimits) {
  return async (_ctx: Context, spec: RouteSpec<any, any, any>, auth: AuthContext | null): Promise<void> => {
    if (!auth || !CREATE_ROUTES.has(`${spec.method} ${spec.path}`)) return;
    const state = await limits.consumeUserCreate(auth.user.id);
    if (!state.allowed) throw rateLimited(state.resetSec, `At most ${state.limit} generations may be requested per minute`);
  };
}
