import type { Knex } from 'knex';
import {
  CodeChallengeMethod,
  OAuth2Client,
  OAuth2RequestError,
  UnexpectedErrorResponseBodyError,
  UnexpectedResponseError,
  generateCodeVerifier,
  generateState,
} from 'arctic';
import { AppError, conflict, forbidden, unauthenticated } from '../errors';
import { ConfigError, type Config } from '../config';
import type { Logger } from '../logger';
import { isUniqueViolation } from '../db';
import type { User } from '../models';
import { FIRST_QUOTA_RESET } from './accounts';
import { normaliseEmail, type Accounts, type RequestMeta } from './accounts';
import { sha256Hex, digestsEqual } from './tokens';

/**
 * Sign-in with Google and GitHub (authorization code flow with state and PKCE S256), over
 * arctic's generic OAuth2Client so every endpoint is configurable. Accounts are identified by
 * (provider, subject id), never by email alone (DESIGN.md, Security notes).
 */
export const OAUTH_PROVIDERS = ['google', 'github'] as const;
export type OAuthProvider = (typeof OAUTH_PROVIDERS)[number];

export const PROVIDER_LABEL: Record<OAuthProvider, string> = { google: 'Google', github: 'GitHub' };

/** Who started a sign-in: an API client (the callback answers the token) or the web studio (a cookie). */
export type OAuthClient = 'api' | 'studio';
// Marks a studio sign-in's state. The state is stored as a hash and must match the browser's
// cookie, so the mark cannot be added or removed on the way through the provider.
const STUDIO_STATE_SUFFIX = '.studio';

/**
 * Whether a callback's state claims the web studio started the sign-in. Trusted for signing in only
 * once the state matched (signIn); before that, good enough to send a failure back to the studio's
 * page rather than answer JSON to a person in a browser.
 */
export const startedByStudio = (state: string | undefined) => Boolean(state?.endsWith(STUDIO_STATE_SUFFIX));

const STATE_TTL_MINUTES = 10;
// A person is waiting in a browser: give up on a silent provider well before the browser does.
const PROVIDER_TIMEOUT_MS = 15_000;
// Error codes of a token endpoint that mean this server is misconfigured, not that the person
// has to start again.
const MISCONFIGURED = new Set(['invalid_client', 'unauthorized_client', 'incorrect_client_credentials', 'redirect_uri_mismatch']);

/** What a provider says about the person who signed in. */
export interface ProviderProfile {
  subject: string;
  /** Normalised; null when the provider gave none that fits the users table. */
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  avatarUrl: string | null;
}

interface ProviderSetup {
  client: OAuth2Client;
  authorizeUrl: string;
  tokenUrl: string;
  scopes: string[];
  profile(accessToken: string): Promise<ProviderProfile>;
}

export interface OAuthCallback {
  code?: string;
  state?: string;
  error?: string;
}

const unavailable = (provider: OAuthProvider, why: string) =>
  new AppError('UNAVAILABLE', `${PROVIDER_LABEL[provider]} sign-in is unavailable right now (${why}); try again later`);
const badState = () =>
  new AppError('VALIDATION_FAILED', 'Invalid, expired or already used sign-in state; start the sign-in again', {
    fields: [{ field: 'query.state', message: 'unknown, expired or already used' }],
  });

export class OAuthService {
  private readonly providers = new Map<OAuthProvider, ProviderSetup>();

  constructor(
    private readonly knex: Knex,
    private readonly accounts: Accounts,
    config: Config,
    private readonly logger: Logger,
  ) {
    const base = (config.OAUTH_REDIRECT_BASE_URL ?? config.PUBLIC_URL ?? `http://127.0.0.1:${config.PORT}`).replace(/\/+$/, '');
    const redirectUri = (p: OAuthProvider) => `${base}/v1/auth/oauth/${p}/callback`;
    const secret = (id: string | undefined, value: string | undefined, name: string) => {
      // Fail at start rather than at the first person's sign-in.
      if (id && !value) throw new ConfigError(`Invalid configuration:\n  ${name}: required when its client id is set`);
      return value!;
    };

    if (config.GOOGLE_CLIENT_ID) {
      const clientSecret = secret(config.GOOGLE_CLIENT_ID, config.GOOGLE_CLIENT_SECRET, 'GOOGLE_CLIENT_SECRET');
      const userinfoUrl = config.GOOGLE_USERINFO_URL;
      this.providers.set('google', {
        client: new OAuth2Client(config.GOOGLE_CLIENT_ID, clientSecret, redirectUri('google')),
        authorizeUrl: config.GOOGLE_AUTHORIZE_URL,
        tokenUrl: config.GOOGLE_TOKEN_URL,
        scopes: ['openid', 'email', 'profile'],
        profile: (token) => this.googleProfile(userinfoUrl, token),
      });
    }
    if (config.GITHUB_CLIENT_ID) {
      const clientSecret = secret(config.GITHUB_CLIENT_ID, config.GITHUB_CLIENT_SECRET, 'GITHUB_CLIENT_SECRET');
      const apiUrl = config.GITHUB_API_URL.replace(/\/+$/, '');
      this.providers.set('github', {
        client: new OAuth2Client(config.GITHUB_CLIENT_ID, clientSecret, redirectUri('github')),
        authorizeUrl: config.GITHUB_AUTHORIZE_URL,
        tokenUrl: config.GITHUB_TOKEN_URL,
        // user:email: /user/emails is the only place GitHub says which addresses are verified.
        scopes: ['read:user', 'user:email'],
        profile: (token) => this.githubProfile(apiUrl, token),
      });
    }
  }

  /** The providers this server offers, in a fixed order. */
  configured(): OAuthProvider[] {
    return OAUTH_PROVIDERS.filter((p) => this.providers.has(p));
  }

  private setup(provider: OAuthProvider): ProviderSetup {
    const setup = this.providers.get(provider);
    if (!setup) throw new AppError('NOT_FOUND', `${PROVIDER_LABEL[provider]} sign-in is not configured`);
    return setup;
  }

  /** Step 1: remember a fresh state and PKCE verifier, and say where to send the browser. */
  async authorizationUrl(provider: OAuthProvider, client: OAuthClient = 'api'): Promise<URL> {
    const setup = this.setup(provider);
    const state = generateState() + (client === 'studio' ? STUDIO_STATE_SUFFIX : '');
    const verifier = generateCodeVerifier();
    // Abandoned sign-ins are swept here, so the table stays as small as the sign-ins in flight.
    await this.knex('oauth_states')
      .where('created_at', '<', this.knex.raw(`NOW() - make_interval(mins => ?)`, [STATE_TTL_MINUTES]))
      .delete();
    await this.knex('oauth_states').insert({ state_hash: sha256Hex(state), provider, code_verifier: verifier });
    return setup.client.createAuthorizationURLWithPKCE(setup.authorizeUrl, state, CodeChallengeMethod.S256, verifier, setup.scopes);
  }

  /**
   * Step 2: the browser is back with a code. Exchanges it, reads the profile, signs in, and says
   * which client started the sign-in. `browserState` is the state this browser was given at step 1 (a cookie): a callback
   * carrying any other state was started elsewhere, e.g. a link that would sign the victim into an
   * attacker's account (login CSRF).
   */
  async signIn(provider: OAuthProvider, callback: OAuthCallback, meta: RequestMeta, browserState: string | undefined) {
    const setup = this.setup(provider);
    if (!callback.state) throw badState();
    if (!browserState || !digestsEqual(sha256Hex(browserState), sha256Hex(callback.state))) {
      throw new AppError('VALIDATION_FAILED', 'This sign-in was not started in this browser (the state does not match); start again', {
        fields: [{ field: 'query.state', message: 'does not match this browser' }],
      });
    }
    const pending = await this.consumeState(provider, callback.state);
    if (callback.error) throw unauthenticated(`Sign-in was not completed at ${PROVIDER_LABEL[provider]} (${callback.error})`);
    if (!callback.code) {
      throw new AppError('VALIDATION_FAILED', 'Invalid query: query.code: required', { fields: [{ field: 'query.code', message: 'required' }] });
    }
    const accessToken = await this.exchange(provider, setup, callback.code, pending.codeVerifier);
    const profile = await setup.profile(accessToken);
    const user = await this.resolveUser(provider, profile);
    const client: OAuthClient = startedByStudio(callback.state) ? 'studio' : 'api';
    return { ...(await this.accounts.signInAuthenticated(user, meta)), client };
  }

  /**
   * Takes the pending sign-in for this state out of the table in one statement, so of two
   * callbacks with the same state only one can proceed; a replay finds nothing.
   */
  private async consumeState(provider: OAuthProvider, state: string): Promise<{ codeVerifier: string | null }> {
    const { rows } = await this.knex.raw<{ rows: Array<{ provider: string; code_verifier: string | null; fresh: boolean }> }>(
      `DELETE FROM oauth_states WHERE state_hash = ?
       RETURNING provider, code_verifier, created_at > NOW() - make_interval(mins => ?) AS fresh`,
      [sha256Hex(state), STATE_TTL_MINUTES],
    );
    const row = rows[0];
    if (!row || !row.fresh || row.provider !== provider) throw badState();
    return { codeVerifier: row.code_verifier };
  }

  private async exchange(provider: OAuthProvider, setup: ProviderSetup, code: string, codeVerifier: string | null): Promise<string> {
    let data: Record<string, unknown>;
    try {
      const tokens = await withTimeout(setup.client.validateAuthorizationCode(setup.tokenUrl, code, codeVerifier), PROVIDER_TIMEOUT_MS);
      data = tokens.data as Record<string, unknown>;
    } catch (err) {
      if (err instanceof OAuth2RequestError) throw this.refused(provider, err.code);
      const status = err instanceof UnexpectedResponseError || err instanceof UnexpectedErrorResponseBodyError ? err.status : undefined;
      if (status === 400 || status === 401) throw this.refused(provider, `HTTP ${status}`);
      this.logger.warn({ err, provider }, 'oauth token exchange failed');
      throw unavailable(provider, status ? `token endpoint answered ${status}` : 'token endpoint unreachable');
    }
    // GitHub answers a refused code with 200 and an error body, which arctic's generic client
    // takes for tokens.
    if (typeof data.error === 'string') throw this.refused(provider, data.error);
    if (typeof data.access_token !== 'string' || !data.access_token) throw unavailable(provider, 'no access token in its answer');
    return data.access_token;
  }

  private refused(provider: OAuthProvider, code: string): AppError {
    if (MISCONFIGURED.has(code)) {
      this.logger.error({ provider, code }, 'oauth client misconfigured: check the client id, secret and redirect URI');
      return unavailable(provider, 'this server is misconfigured');
    }
    return unauthenticated(`${PROVIDER_LABEL[provider]} did not accept the sign-in (${code}); start the sign-in again`);
  }

  private async getJson(provider: OAuthProvider, url: string, accessToken: string): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(url, {
        headers: {
          authorization: `Bearer ${accessToken}`,
          accept: provider === 'github' ? 'application/vnd.github+json' : 'application/json',
          // GitHub refuses requests without a User-Agent.
          'user-agent': 'AIMake',
          ...(provider === 'github' ? { 'x-github-api-version': '2022-11-28' } : {}),
        },
        redirect: 'error',
        signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
      });
    } catch (err) {
      this.logger.warn({ err, provider, url }, 'oauth profile request failed');
      throw unavailable(provider, 'profile endpoint unreachable');
    }
    if (!res.ok) {
      await res.body?.cancel();
      if (res.status >= 500 || res.status === 429) throw unavailable(provider, `profile endpoint answered ${res.status}`);
      throw unauthenticated(`${PROVIDER_LABEL[provider]} did not share the profile (HTTP ${res.status}); start the sign-in again`);
    }
    try {
      return await res.json();
    } catch {
      throw unavailable(provider, 'profile endpoint answered something that is not JSON');
    }
  }

  /** OpenID Connect userinfo: sub is the stable id; email_verified says whether email can be trusted. */
  private async googleProfile(userinfoUrl: string, accessToken: string): Promise<ProviderProfile> {
    const info = asRecord(await this.getJson('google', userinfoUrl, accessToken));
    if (typeof info.sub !== 'string' || !info.sub || info.sub.length > 100) throw unavailable('google', 'userinfo without a subject');
    return {
      subject: info.sub,
      email: usableEmail(info.email),
      // Google has sent it as a string in some answers.
      emailVerified: info.email_verified === true || info.email_verified === 'true',
      name: usableName(info.name),
      avatarUrl: usableUrl(info.picture),
    };
  }

  /** GitHub: /user for the numeric id, /user/emails for the primary address and whether it is verified. */
  private async githubProfile(apiUrl: string, accessToken: string): Promise<ProviderProfile> {
    const [userJson, emailsJson] = await Promise.all([
      this.getJson('github', `${apiUrl}/user`, accessToken),
      this.getJson('github', `${apiUrl}/user/emails`, accessToken),
    ]);
    const user = asRecord(userJson);
    if (typeof user.id !== 'number' || !Number.isSafeInteger(user.id) || user.id <= 0) throw unavailable('github', '/user without an id');
    // Only the primary address, and only if verified (DESIGN.md); /user's own email is public
    // profile text that GitHub does not vouch for.
    const primary = (Array.isArray(emailsJson) ? emailsJson : []).map(asRecord).find((e) => e.primary === true);
    return {
      subject: String(user.id),
      email: usableEmail(primary?.email),
      emailVerified: primary?.verified === true,
      name: usableName(user.name) ?? usableName(user.login),
      avatarUrl: usableUrl(user.avatar_url),
    };
  }

  /**
   * The account for this provider identity: known by subject id; else linked by a verified email
   * or created. Loops once when a concurrent sign-in of the same person wins a race.
   */
  private async resolveUser(provider: OAuthProvider, p: ProviderProfile): Promise<User> {
    const label = PROVIDER_LABEL[provider];
    const column = provider === 'google' ? 'google_id' : 'github_id';
    for (let attempt = 0; attempt < 3; attempt++) {
      const known = await this.knex('users').where(column, p.subject).first();
      // The subject id is the identity: an email changed or unverified since does not matter.
      if (known) return activeOnly(known);

      if (!p.email || !p.emailVerified) {
        throw forbidden(`Your ${label} account has no verified email address; verify one at ${label} and sign in again`);
      }
      const existing = await this.knex('users').where({ email: p.email }).first();
      if (existing) {
        // Linking an account whose owner never proved the email is the pre-registration attack:
        // anyone can register someone else's address with a password and wait for that person to
        // sign in with Google. Refusing is the safe choice; the real owner can still use the
        // password, and nothing of theirs is handed to the registrant.
        if (!existing.is_verified) {
          throw conflict(
            `An account with this email address exists but its email was never verified, so it cannot be joined to this ${label} sign-in; if it is yours, sign in with its password`,
          );
        }
        activeOnly(existing);
        if (existing[column] && existing[column] !== p.subject) {
          throw conflict(`The account with this email address is already linked to another ${label} account`);
        }
        // Only if still unlinked: a concurrent link of another identity must not be overwritten.
        const linked = await this.knex('users')
          .update({ [column]: p.subject, updated_at: new Date() })
          .where({ id: existing.id })
          .whereNull(column)
          .returning('*');
        if (linked.length === 1) return linked[0]!;
        continue;
      }
      try {
        const [created] = await this.knex('users')
          .insert({
            email: p.email,
            password_hash: null,
            name: p.name,
            avatar_url: p.avatarUrl,
            ...(provider === 'google' ? { google_id: p.subject } : { github_id: p.subject }),
            is_verified: true,
            // As Accounts.register: the monthly reset (seed query 3.5) only touches users whose reset time has come.
            quota_reset_at: this.knex.raw(FIRST_QUOTA_RESET),
          })
          .returning('*');
        if (created) return created;
      } catch (err) {
        // The same person's other callback (or a registration) took the email first: look again.
        if (!isUniqueViolation(err)) throw err;
      }
    }
    throw conflict('Sign-in raced with another change to this account; try again');
  }
}

function activeOnly(user: User): User {
  // The person proved who they are at the provider, so saying why is no information leak.
  if (!user.is_active) throw forbidden('This account is disabled');
  return user;
}

function asRecord(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function usableEmail(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const email = normaliseEmail(v);
  return email.length > 0 && email.length <= 255 && email.includes('@') ? email : null;
}

function usableName(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const name = v.trim().slice(0, 100);
  return name || null;
}

function usableUrl(v: unknown): string | null {
  if (typeof v !== 'string' || v.length > 500) return null;
  try {
    return ['https:', 'http:'].includes(new URL(v).protocol) ? v : null;
  } catch {
    return null;
  }
}

/** arctic's token request takes no AbortSignal; this at least answers the person in time. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
