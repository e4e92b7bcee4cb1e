import type { Context } from 'koa';

/** The caller's IP: Koa honours X-Forwarded-For only when app.proxy (TRUST_PROXY) is on. */
export const clientIp = (ctx: Context) => ctx.ip || 'unknown';
