import { z } from 'zod';
import type { Config } from '../../config';
import { userView } from '../../services/accounts';
import { AppError } from '../../errors';
import { OAUTH_PROVIDERS, PROVIDER_LABEL, startedByStudio, type OAuthService } from '../../services/oauth';
import { clientIp } from '../request';
import { route } from '../route';
import { setSessionCookie } from '../studio';
// Sign-in answers exactly like POST /v1/auth/login.
import { SessionSchema } from './accounts';

// Not strict: providers add parameters of their own (scope, authuser, prompt, error_description…).
const CallbackQuery = z.object({
  code: z.string().min(1).max(2048).optional(),
  state: z.string().min(1).max(512).optional(),
  error: z.string().max(200).optional(),
});

// The web studio starts its sign-ins with ?client=studio: the callback then sets its cookie.
const StartQuery = z.object({ client: z.enum(['studio']).optional().describe('studio: end in the web studio, signed in by its session cookie') });

const stateCookie = (provider: string) => `aimake_oauth_${provider}`;

/**
 * One pair of routes per provider rather than a :provider parameter, so an unknown provider is an
 * unmatched route (404) and the OpenAPI document names each one.
 */
export function oauthRoutes(deps: { oauth: OAuthService; config: Config }) {
  const { oauth, config } = deps;
  const secureCookie = Boolean(config.PUBLIC_URL?.startsWith('https:'));
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
        query: StartQuery,
        responses: {
          302: { description: `To ${label}'s authorization page, with state and PKCE (S256)` },
          404: { description: `${label} sign-in is not configured on this server` },
        },
        handler: async (ctx, { query }) => {
          const url = await oauth.authorizationUrl(provider, query.client ?? 'api');
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
          302: {
            description:
              'A sign-in started by the web studio: back to /studio/, signed in by its session cookie, or with ?signInError=<message> when it failed',
          },
          400: { description: 'Missing code, or a state that is unknown, expired or already used' },
          401: { description: `${label} refused or the person cancelled; start again` },
          403: { description: `No verified email at ${label} for a new account, or the account is disabled` },
          409: { description: 'The email belongs to an account that cannot be linked (unverified, or linked to another identity)' },
        },
        handler: async (ctx, { query }) => {
          const browserState = ctx.cookies.get(stateCookie(provider));
          // A session token: never cached by the browser or a proxy.
          ctx.set('Cache-Control', 'no-store');
          let signedIn;
          try {
            signedIn = await oauth.signIn(provider, query, { ip: clientIp(ctx), userAgent: ctx.get('user-agent') }, browserState);
          } catch (err) {
            // A person in the studio (cancelled, refused, expired) gets its sign-in page and the reason, not JSON.
            if (!(err instanceof AppError) || !startedByStudio(query.state)) throw err;
            ctx.cookies.set(stateCookie(provider), null, { path: `/v1/auth/oauth/${provider}` });
            ctx.redirect(`/studio/?${new URLSearchParams({ signInError: err.message }).toString()}`);
            return;
          }
          const { user, token, client } = signedIn;
          ctx.cookies.set(stateCookie(provider), null, { path: `/v1/auth/oauth/${provider}` });
          if (client === 'studio') {
            setSessionCookie(ctx, token, { secure: secureCookie, maxAgeSec: config.SESSION_TTL_DAYS * 86_400 });
            ctx.redirect('/studio/');
            return;
          }
          ctx.body = { user: userView(user), token };
        },
      }),
    ];
  });
}
