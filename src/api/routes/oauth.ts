import type { Knex } from 'knex';
import { z } from 'zod';
import type { Config } from '../../config';
import type { Logger } from '../../logger';
import { userView, type Accounts } from '../../services/accounts';
import { OAUTH_PROVIDERS, OAuthService, PROVIDER_LABEL } from '../../services/oauth';
import { clientIp } from '../request';
import { route } from '../route';
// Sign-in answers exactly like POST /v1/auth/login.
import { SessionSchema } from './accounts';

// Not strict: providers add parameters of their own (scope, authuser, prompt, error_description…).
const CallbackQuery = z.object({
  code: z.string().min(1).max(2048).optional(),
  state: z.string().min(1).max(512).optional(),
  error: z.string().max(200).optional(),
});

const stateCookie = (provider: string) => `aimake_oauth_${provider}`;

/**
 * One pair of routes per provider rather than a :provider parameter, so an unknown provider is an
 * unmatched route (404) and the OpenAPI document names each one.
 */
export function oauthRoutes(deps: { knex: Knex; accounts: Accounts; config: Config; logger: Logger }) {
  const oauth = new OAuthService(deps.knex, deps.accounts, deps.config, deps.logger);
  return OAUTH_PROVIDERS.flatMap((provider) => {
    const label = PROVIDER_LABEL[provider];
    return [
      route({
        method: 'get',
        path: `/v1/auth/oauth/${provider}`,
        operationId: `signInWith${label}`,
        tag: 'accounts',
        summary: `Sign in with ${label}: redirects the browser to ${label}`,
        auth: 'none',
        responses: {
          302: { description: `To ${label}'s authorization page, with state and PKCE (S256)` },
          404: { description: `${label} sign-in is not configured on this server` },
        },
        handler: async (ctx) => {
          const url = await oauth.authorizationUrl(provider);
          // The state is also kept in this browser, so a callback link made by someone else (login
          // CSRF: signing a victim into the attacker's account) does not match it.
          ctx.cookies.set(stateCookie(provider), url.searchParams.get('state')!, {
            httpOnly: true,
            sameSite: 'lax',
            path: `/v1/auth/oauth/${provider}`,
            maxAge: 10 * 60 * 1000,
            secure: ctx.secure,
            overwrite: true,
          });
          // Each answer carries a one-time state.
          ctx.set('Cache-Control', 'no-store');
          ctx.redirect(url.toString());
        },
      }),
      route({
        method: 'get',
        path: `/v1/auth/oauth/${provider}/callback`,
        operationId: `complete${label}SignIn`,
        tag: 'accounts',
        summary: `Where ${label} sends the browser back: signs in, links by verified email, or creates the account`,
        auth: 'none',
        query: CallbackQuery,
        responses: {
          200: { description: 'Signed in', schema: SessionSchema },
          400: { description: 'Missing code, or a state that is unknown, expired or already used' },
          401: { description: `${label} refused or the person cancelled; start again` },
          403: { description: `No verified email at ${label} for a new account, or the account is disabled` },
          409: { description: 'The email belongs to an account that cannot be linked (unverified, or linked to another identity)' },
        },
        handler: async (ctx, { query }) => {
          const browserState = ctx.cookies.get(stateCookie(provider));
          const { user, token } = await oauth.signIn(provider, query, { ip: clientIp(ctx), userAgent: ctx.get('user-agent') }, browserState);
          ctx.cookies.set(stateCookie(provider), null, { path: `/v1/auth/oauth/${provider}` });
          // A session token: never cached by the browser or a proxy.
          ctx.set('Cache-Control', 'no-store');
          ctx.body = { user: userView(user), token };
        },
      }),
    ];
  });
}
