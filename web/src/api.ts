// The studio's one door to the API: openapi-fetch typed by the generated schema, the session
// cookie (same origin), and the CSRF token on every unsafe method.
import createClient from 'openapi-fetch';
import type { paths } from '../../clients/typescript/schema';
import type { Session } from './types';

let csrfToken = '';
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });
/** Fired when the API no longer knows the session (it expired or was revoked): the studio signs in again. */
export const SIGNED_OUT = 'aimake:signed-out';

api.use({
  onRequest({ request }) {
    if (!SAFE.has(request.method) && csrfToken) request.headers.set('X-CSRF-Token', csrfToken);
    return request;
  },
  onResponse({ request, response }) {
    // The session endpoints answer 401 for a wrong password or no session yet: those are not a lost session.
    if (response.status === 401 && !new URL(request.url).pathname.startsWith('/v1/studio/')) window.dispatchEvent(new Event(SIGNED_OUT));
    return response;
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

// The cookie session (/v1/studio/*): the token stays in an HttpOnly cookie; JavaScript only ever
// holds the CSRF token that goes with it.
async function signedIn(call: Promise<{ data?: unknown; error?: unknown; response: Response }>): Promise<Session> {
  const s = await must<Session>(call);
  csrfToken = s.csrfToken;
  return s;
}

export const session = {
  current: () => signedIn(api.GET('/v1/studio/session')),
  register: (email: string, password: string) => signedIn(api.POST('/v1/studio/register', { body: { email, password } })),
  login: (email: string, password: string) => signedIn(api.POST('/v1/studio/login', { body: { email, password } })),
  logout: async () => {
    await must(api.POST('/v1/studio/logout'));
    csrfToken = '';
  },
  config: () => must<{ oauthProviders: string[] }>(api.GET('/v1/studio/config')),
};
