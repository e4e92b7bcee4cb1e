import type { Context } from 'koa';
import { z } from 'zod';
import type { Config } from '../../config';
import { unauthenticated } from '../../errors';
import { userView, type Accounts } from '../../services/accounts';
import type { User } from '../../models';
import { OAUTH_PROVIDERS, type OAuthService } from '../../services/oauth';
import { clientIp } from '../request';
import { route } from '../route';
import { clearSessionCookie, csrfTokenFor, setSessionCookie } from '../studio';
import { LoginBody, RegisterBody, UserSchema } from './accounts';

// What the studio's page may know of its session: never the token, which stays in the HttpOnly cookie.
const StudioSessionSchema = z.object({
  user: UserSchema,
  csrfToken: z.string().describe('Send as X-CSRF-Token on every request other than GET, HEAD and OPTIONS'),
});

/**
 * The web studio's sign-in: the sessions of /v1/auth/*, carried in an HttpOnly cookie instead of
 * the response body. The cookie is `Secure` when the public URL is https.
 */
export function studioRoutes(deps: { accounts: Accounts; oauth: OAuthService; config: Config }) {
  const { accounts, oauth, config } = deps;
  const secure = Boolean(config.PUBLIC_URL?.startsWith('https:'));
  const meta = (ctx: Context) => ({ ip: clientIp(ctx), userAgent: ctx.get('user-agent') });
  const signedIn = (ctx: Context, user: User, token: string) => {
    setSessionCookie(ctx, token, { secure, maxAgeSec: config.SESSION_TTL_DAYS * 86_400 });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { user: userView(user), csrfToken: csrfTokenFor(token) };
  };

  return [
    route({
      method: 'post',
      path: '/v1/studio/register',
      operationId: 'studioRegister',
      tag: 'studio',
      summary: 'Create an account and sign the studio in with a session cookie',
      auth: 'none',
      body: RegisterBody,
      responses: { 201: { description: 'Registered; the session is in the aimake_session cookie', schema: StudioSessionSchema } },
      handler: async (ctx, { body }) => {
        const { user, token } = await accounts.register(body, meta(ctx));
        signedIn(ctx, user, token);
        ctx.status = 201;
      },
    }),
    route({
      method: 'post',
      path: '/v1/studio/login',
      operationId: 'studioLogin',
      tag: 'studio',
      summary: 'Sign the studio in with email and password (a session cookie)',
      auth: 'none',
      body: LoginBody,
      responses: { 200: { description: 'Signed in; the session is in the aimake_session cookie', schema: StudioSessionSchema } },
      handler: async (ctx, { body }) => {
        const { user, token } = await accounts.login(body, meta(ctx));
        signedIn(ctx, user, token);
      },
    }),
    route({
      method: 'get',
      path: '/v1/studio/session',
      operationId: 'getStudioSession',
      tag: 'studio',
      summary: "The studio's signed-in user and CSRF token, from the session cookie",
      auth: 'required',
      responses: { 200: { description: 'The cookie holds a live session', schema: StudioSessionSchema } },
      handler: async (ctx, { auth }) => {
        if (!auth?.cookieToken) throw unauthenticated('No studio session cookie');
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { user: userView(auth.user), csrfToken: csrfTokenFor(auth.cookieToken) };
      },
    }),
    route({
      method: 'post',
      path: '/v1/studio/logout',
      operationId: 'studioLogout',
      tag: 'studio',
      summary: "Revoke the studio's session and clear its cookie",
      auth: 'required',
      responses: { 204: { description: 'Signed out' } },
      handler: async (ctx, { auth }) => {
        // As POST /v1/auth/logout: a session (cookie or Bearer) ends; an API key is not revoked here.
        if (auth?.sessionId) await accounts.logout(auth.sessionId);
        clearSessionCookie(ctx, secure);
        ctx.status = 204;
      },
    }),
    route({
      method: 'get',
      path: '/v1/studio/config',
      operationId: 'getStudioConfig',
      tag: 'studio',
      summary: 'What the studio offers on this server: the configured OAuth providers',
      auth: 'none',
      responses: {
        200: { description: 'Studio settings', schema: z.object({ oauthProviders: z.array(z.enum(OAUTH_PROVIDERS)) }) },
      },
      handler: async (ctx) => {
        ctx.body = { oauthProviders: oauth.configured() };
      },
    }),
  ];
}
