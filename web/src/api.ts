// The studio's one door to the API: openapi-fetch typed by the generated schema, the session
// cookie (same origin), and the CSRF token on every unsafe method.
import createClient from 'openapi-fetch';
import type { paths } from '../../clients/typescript/schema';
import type { Session } from './types';

let csrfToken = '';
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });
api.use({
  onRequest({ request }) {
    if (!SAFE.has(request.method) && csrfToken) request.headers.set('X-CSRF-Token', csrfToken);
    return request;
  },
});

/** An API error: the `{error: {code, message}}` body, or the status when there is none. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function toApiError(status: number, body: unknown): ApiError {
  const err = (body as { error?: { code?: string; message?: string } } | null)?.error;
  return new ApiError(status, err?.code ?? 'HTTP_' + status, err?.message ?? `HTTP ${status}`);
}

/** Awaits an openapi-fetch call; its data, or throws the API's error. */
export async function must<T>(call: Promise<{ data?: unknown; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw toApiError(response.status, error);
  return data as T;
}

/** The message to show for any failure: the API's own `error.message` when there is one. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

// The cookie session endpoints (/v1/studio/*): the token stays in an HttpOnly cookie; JavaScript
// only ever sees the CSRF token that goes with it.
async function studio(method: string, path: string, body?: unknown): Promise<Session | null> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (!SAFE.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const parsed: unknown = text ? JSON.parse(text) : null;
  if (!res.ok) throw toApiError(res.status, parsed);
  const session = parsed as Session | null;
  csrfToken = session?.csrfToken ?? '';
  return session;
}

export const session = {
  current: () => studio('GET', '/v1/studio/session'),
  register: (email: string, password: string) => studio('POST', '/v1/studio/register', { email, password }) as Promise<Session>,
  login: (email: string, password: string) => studio('POST', '/v1/studio/login', { email, password }) as Promise<Session>,
  logout: () => studio('POST', '/v1/studio/logout'),
  config: async () => {
    const res = await fetch('/v1/studio/config', { credentials: 'same-origin' });
    if (!res.ok) return { oauthProviders: [] as string[] };
    return (await res.json()) as { oauthProviders: string[] };
  },
};
