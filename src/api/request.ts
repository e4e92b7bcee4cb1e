import type { Context } from 'koa';

/** The caller's IP: Koa honours X-Forwarded-For only when app.proxy (TRUST_PROXY) is on. */
export const clientIp = (ctx: Context) => ctx.ip || 'unknown';

/** The request path as logs may keep it: a private feed's secret token (routes/feeds.ts) is cut out. */
export const loggedPath = (ctx: Context) => ctx.path.replace(/^\/v1\/feeds\/[^/]+?(?=\.xml$|\/|$)/, '/v1/feeds/[redacted]');

/**
 * A conditional GET's answer (RFC 9110 §13.2.2): If-None-Match decides when sent (weak comparison,
 * a list or `*`), else If-Modified-Since against the whole second of `lastModified`. A request's own
 * Cache-Control is left aside: fetch() adds `no-cache` to every conditional request it sends.
 */
export function notModified(ctx: Context, validators: { etag: string; lastModified?: Date }): boolean {
  const noneMatch = ctx.get('if-none-match');
  if (noneMatch) {
    const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
    return noneMatch.trim() === '*' || noneMatch.split(',').some((tag) => opaque(tag) === opaque(validators.etag));
  }
  const since = Date.parse(ctx.get('if-modified-since'));
  return validators.lastModified !== undefined && !Number.isNaN(since) && Math.floor(validators.lastModified.getTime() / 1000) * 1000 <= since;
}
