import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Context, Middleware } from 'koa';
import { AppError } from '../errors';
import { notModified } from './request';

/**
 * The web studio (web/, built by Vite into STUDIO_DIR) served under /studio/, and the cookie its
 * session rides in. The studio is an ordinary client of the public API: its pages get a strict
 * CSP, and the session token stays in an HttpOnly cookie, out of reach of any injected script.
 */
export const STUDIO_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: https:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const PREFIX = '/studio/';
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** GET / and /studio redirect to /studio/; /studio/* is a file of the build, else its index.html (the app routes in the browser). */
export function studioFiles(dir: string): Middleware {
  const root = path.resolve(dir);
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path === '/' || ctx.path === '/studio') {
      ctx.redirect(PREFIX);
      return;
    }
    if (!ctx.path.startsWith(PREFIX)) return next();

    ctx.set('Content-Security-Policy', STUDIO_CSP);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'same-origin');
    const file = fileIn(root, ctx.path.slice(PREFIX.length));
    if (!file) throw new AppError('NOT_FOUND', 'No such studio file');
    const found = await regularFile(file);
    if (found) {
      const relative = path.relative(root, file).split(path.sep).join('/');
      // Vite names what it puts in assets/ after its content: a new build is new names.
      return send(ctx, file, found, relative.startsWith('assets/') ? IMMUTABLE : 'public, max-age=3600');
    }
    const index = path.join(root, 'index.html');
    const indexStat = await regularFile(index);
    if (!indexStat) throw new AppError('UNAVAILABLE', `The studio is not built: run npm run build:web (looked in ${root})`);
    // The app's own pages: always revalidated, so a deploy reaches the browser at once.
    return send(ctx, index, indexStat, 'no-cache');
  };
}

/**
 * The file a request path names inside root, or null for one that would leave it or that names
 * a hidden file: percent-decoded once, then any `..`, `.x`, backslash or NUL segment is refused.
 */
function fileIn(root: string, requested: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(requested);
  } catch {
    return null;
  }
  if (/[\\\0]/.test(decoded)) return null;
  const segments = decoded.split('/').filter(Boolean);
  if (segments.some((s) => s.startsWith('.'))) return null;
  const file = path.resolve(root, ...segments);
  return file === root || file.startsWith(root + path.sep) ? file : null;
}

async function regularFile(file: string): Promise<fs.Stats | null> {
  const stat = await fs.promises.stat(file).catch(() => null);
  return stat?.isFile() ? stat : null;
}

function send(ctx: Context, file: string, stat: fs.Stats, cacheControl: string) {
  ctx.set('Cache-Control', cacheControl);
  const etag = `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
  ctx.set('ETag', etag);
  ctx.set('Last-Modified', stat.mtime.toUTCString());
  ctx.type = path.extname(file) || 'application/octet-stream';
  if (notModified(ctx, { etag, lastModified: stat.mtime })) {
    ctx.status = 304;
    return;
  }
  ctx.status = 200;
  ctx.length = stat.size;
  if (ctx.method === 'GET') ctx.body = fs.createReadStream(file);
}

// The studio's session: the same `st_…` token the API's login returns, in a cookie.
export const SESSION_COOKIE = 'aimake_session';
const CSRF_LABEL = 'aimake studio csrf v1';

/**
 * The CSRF token of a session: an HMAC keyed by the session token, so it is stored nowhere and
 * nobody who lacks the (HttpOnly) token can compute it; it dies with the session.
 */
export const csrfTokenFor = (sessionToken: string) => crypto.createHmac('sha256', sessionToken).update(CSRF_LABEL).digest('base64url');

/** Constant-time check of an X-CSRF-Token header against the session's token. */
export function csrfTokenValid(sessionToken: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  const given = Buffer.from(presented);
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

/** The session cookie, written by hand: Koa's cookies refuse `Secure` on a plain-HTTP hop behind a TLS proxy. */
export function setSessionCookie(ctx: Context, token: string, opts: { secure: boolean; maxAgeSec: number }) {
  ctx.append('Set-Cookie', sessionCookie(token, opts.maxAgeSec, opts.secure));
}

export function clearSessionCookie(ctx: Context, secure: boolean) {
  ctx.append('Set-Cookie', `${sessionCookie('', 0, secure)}; Expires=Thu, 01 Jan 1970 00:00:00 GMT`);
}

const sessionCookie = (value: string, maxAgeSec: number, secure: boolean) =>
  `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeSec}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
