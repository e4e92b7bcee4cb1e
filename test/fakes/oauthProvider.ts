/**
 * A loopback stand-in for Google's and GitHub's OAuth servers, speaking their wire protocols:
 * - authorize endpoints that "sign in" the identity a test chose and 302 back to redirect_uri with
 *   a code and the state (or with error=access_denied); client errors are pages, not redirects,
 *   as the real providers do, so nothing is ever redirected to an unregistered URI;
 * - token endpoints that check client id and secret (Basic or in the body), grant type, the code
 *   (single use, 10 minutes), the redirect_uri of the authorize request and the PKCE verifier
 *   against the stored S256 challenge. Google refuses with 400/401 and an OAuth error body;
 *   GitHub with 200 and an error body, and answers form-encoded unless asked for JSON;
 * - Google's OpenID userinfo, GitHub's /user and /user/emails (the latter needs the user:email
 *   scope, else 404 like GitHub), each with a bearer token.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { FakeState, closeServer, listenLoopback, readRequest, send, splitUrl, type LoggedRequest } from './faults';

export interface GoogleIdentity {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  picture?: string;
}

export interface GitHubEmail {
  email: string;
  primary: boolean;
  verified: boolean;
  visibility?: 'public' | 'private' | null;
}

export interface GitHubIdentity {
  id: number;
  login: string;
  name?: string | null;
  avatar_url?: string;
  /** The public profile email of /user (GitHub does not say whether it is verified). */
  email?: string | null;
  emails: GitHubEmail[];
}

type Provider = 'google' | 'github';

interface Client {
  clientId: string;
  clientSecret: string;
  /** Registered redirect URI; authorize refuses any other. */
  redirectUri: string;
}

interface Grant {
  provider: Provider;
  clientId: string;
  redirectUri: string;
  challenge: string | null;
  scopes: string[];
  identity: GoogleIdentity | GitHubIdentity;
  expiresAt: number;
}

interface AccessToken {
  provider: Provider;
  scopes: string[];
  identity: GoogleIdentity | GitHubIdentity;
}

export interface FakeOAuthProvider {
  url: string;
  google: Client & {
    authorizeUrl: string;
    tokenUrl: string;
    userinfoUrl: string;
    /** Who signs in at the next authorize requests (a copy is taken per code). */
    signInAs(identity: GoogleIdentity): void;
    /** The next authorize request is declined by the person: error=access_denied. */
    denyNext(): void;
  };
  github: Client & {
    authorizeUrl: string;
    tokenUrl: string;
    apiUrl: string;
    signInAs(identity: GitHubIdentity): void;
    denyNext(): void;
  };
  /** Environment for startTestApi: both providers configured against this fake. */
  env: Record<string, string>;
  requests: LoggedRequest[];
  count(path: string): number;
  close(): Promise<void>;
}

const PATHS = {
  googleAuthorize: '/google/o/oauth2/v2/auth',
  googleToken: '/google/token',
  googleUserinfo: '/google/v1/userinfo',
  githubAuthorize: '/github/login/oauth/authorize',
  githubToken: '/github/login/oauth/access_token',
  githubApi: '/github-api',
};

const s256 = (verifier: string) => crypto.createHash('sha256').update(verifier).digest('base64url');
const random = (prefix: string) => prefix + crypto.randomBytes(24).toString('base64url');

/** RFC 6749 2.3.1: client_secret_basic, or client_id and client_secret in the body. */
function clientCredentials(req: http.IncomingMessage, form: URLSearchParams): { id: string; secret: string } | null {
  const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (basic) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return null;
    const unescape = (v: string) => {
      try {
        return decodeURIComponent(v.replace(/\+/g, ' '));
      } catch {
        return v;
      }
    };
    return { id: unescape(decoded.slice(0, i)), secret: unescape(decoded.slice(i + 1)) };
  }
  const id = form.get('client_id');
  const secret = form.get('client_secret');
  return id && secret ? { id, secret } : null;
}

function bearer(req: http.IncomingMessage): string | undefined {
  // GitHub also takes the older "token <value>" form.
  return /^(?:Bearer|token)\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

export async function startFakeOAuthProvider(opts: { redirectBase: string }): Promise<FakeOAuthProvider> {
  const state = new FakeState();
  const base = opts.redirectBase.replace(/\/+$/, '');
  const clients: Record<Provider, Client> = {
    google: { clientId: 'google-client.apps.example', clientSecret: 'google-secret', redirectUri: `${base}/v1/auth/oauth/google/callback` },
    github: { clientId: 'Iv1.githubclient', clientSecret: 'github-secret', redirectUri: `${base}/v1/auth/oauth/github/callback` },
  };
  const identities: { google: GoogleIdentity; github: GitHubIdentity } = {
    google: { sub: '100000000000000000001', email: 'someone@gmail.example', email_verified: true, name: 'Someone' },
    github: { id: 1, login: 'someone', emails: [{ email: 'someone@github.example', primary: true, verified: true }] },
  };
  const denying: Record<Provider, boolean> = { google: false, github: false };
  const grants = new Map<string, Grant>();
  const tokens = new Map<string, AccessToken>();

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, { error: 'server_error', error_description: String(err) }));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { path, query } = splitUrl(req.url);
    const { text, json } = await readRequest(req);
    state.record({ method: req.method ?? 'GET', path, query, headers: req.headers, body: json ?? text });

    if (req.method === 'GET' && path === PATHS.googleAuthorize) return authorize('google', query, res);
    if (req.method === 'GET' && path === PATHS.githubAuthorize) return authorize('github', query, res);
    if (req.method === 'POST' && path === PATHS.googleToken) return googleToken(req, text, res);
    if (req.method === 'POST' && path === PATHS.githubToken) return githubToken(req, text, res);
    if (req.method === 'GET' && path === PATHS.googleUserinfo) return googleUserinfo(req, res);
    if (req.method === 'GET' && path.startsWith(PATHS.githubApi + '/')) return githubApi(req, path.slice(PATHS.githubApi.length), res);
    send(res, 404, 'Not Found');
  }

  function authorize(provider: Provider, q: Record<string, string>, res: http.ServerResponse): void {
    const client = clients[provider];
    // Errors about the client or the redirect URI are shown to the person, never redirected.
    if (q.client_id !== client.clientId) return send(res, 400, `invalid_client: unknown client ${q.client_id ?? ''}`);
    if (q.redirect_uri !== client.redirectUri) return send(res, 400, `redirect_uri_mismatch: ${q.redirect_uri ?? '(none)'} is not registered`);
    if (provider === 'google' && q.response_type !== 'code') return send(res, 400, 'unsupported_response_type');
    const scopes = (q.scope ?? '').split(/[\s,]+/).filter(Boolean);
    if (provider === 'google' && !(scopes.includes('openid') && scopes.includes('email'))) return send(res, 400, 'invalid_scope: openid email needed');
    const challenge = q.code_challenge ?? null;
    if (challenge !== null && q.code_challenge_method !== 'S256') return send(res, 400, 'invalid_request: only S256 is accepted here');
    // Google does not demand PKCE of web clients, but this project always sends it: hold it to that.
    if (provider === 'google' && challenge === null) return send(res, 400, 'invalid_request: code_challenge missing');

    const back = new URL(client.redirectUri);
    if (q.state !== undefined) back.searchParams.set('state', q.state);
    if (denying[provider]) {
      denying[provider] = false;
      back.searchParams.set('error', 'access_denied');
      res.writeHead(302, { location: back.toString() }).end();
      return;
    }
    const code = random(provider === 'google' ? '4/0A' : '');
    grants.set(code, {
      provider,
      clientId: client.clientId,
      redirectUri: q.redirect_uri,
      challenge,
      scopes,
      identity: structuredClone(identities[provider]),
      expiresAt: Date.now() + 10 * 60_000,
    });
    back.searchParams.set('code', code);
    // Google adds parameters of its own to the redirect.
    if (provider === 'google') {
      back.searchParams.set('scope', scopes.join(' '));
      back.searchParams.set('authuser', '0');
      back.searchParams.set('prompt', 'consent');
    }
    res.writeHead(302, { location: back.toString() }).end();
  }

  /** Validates a code exchange; answers the OAuth error code, or the grant. */
  function redeem(provider: Provider, req: http.IncomingMessage, form: URLSearchParams): { error: string; description: string } | { grant: Grant } {
    const client = clients[provider];
    const creds = clientCredentials(req, form);
    if (!creds || creds.id !== client.clientId || creds.secret !== client.clientSecret) {
      return {
        error: provider === 'google' ? 'invalid_client' : 'incorrect_client_credentials',
        description: 'The client_id and/or client_secret passed are incorrect.',
      };
    }
    if (provider === 'google' && form.get('grant_type') !== 'authorization_code') return { error: 'unsupported_grant_type', description: 'Invalid grant_type' };
    const code = form.get('code') ?? '';
    const grant = grants.get(code);
    // A code is good for one exchange, whatever its outcome.
    grants.delete(code);
    const badCode = provider === 'google' ? 'invalid_grant' : 'bad_verification_code';
    if (!grant || grant.provider !== provider || grant.clientId !== creds.id || grant.expiresAt < Date.now()) {
      return { error: badCode, description: 'The code passed is incorrect or expired.' };
    }
    if (form.get('redirect_uri') !== grant.redirectUri)
      return { error: 'redirect_uri_mismatch', description: 'The redirect_uri MUST match the registered callback URL for this application.' };
    if (grant.challenge !== null) {
      const verifier = form.get('code_verifier');
      if (!verifier) return { error: badCode, description: 'Missing code verifier.' };
      if (s256(verifier) !== grant.challenge) return { error: badCode, description: 'Invalid code verifier.' };
    }
    return { grant };
  }

  function issue(grant: Grant): string {
    const token = random(grant.provider === 'google' ? 'ya29.' : 'gho_');
    tokens.set(token, { provider: grant.provider, scopes: grant.scopes, identity: grant.identity });
    return token;
  }

  function googleToken(req: http.IncomingMessage, text: string, res: http.ServerResponse): void {
    const out = redeem('google', req, new URLSearchParams(text));
    if ('error' in out) return send(res, out.error === 'invalid_client' ? 401 : 400, { error: out.error, error_description: out.description });
    send(res, 200, { access_token: issue(out.grant), expires_in: 3599, scope: out.grant.scopes.join(' '), token_type: 'Bearer' });
  }

  function githubToken(req: http.IncomingMessage, text: string, res: http.ServerResponse): void {
    const out = redeem('github', req, new URLSearchParams(text));
    const body: Record<string, string> =
      'error' in out
        ? { error: out.error, error_description: out.description, error_uri: 'https://docs.github.com/apps/troubleshooting' }
        : { access_token: issue(out.grant), token_type: 'bearer', scope: out.grant.scopes.join(',') };
    // GitHub answers 200 either way, form-encoded unless the client asks for JSON.
    if ((req.headers.accept ?? '').includes('application/json')) return send(res, 200, body);
    send(res, 200, new URLSearchParams(body).toString(), { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' });
  }

  function googleUserinfo(req: http.IncomingMessage, res: http.ServerResponse): void {
    const token = tokens.get(bearer(req) ?? '');
    if (!token || token.provider !== 'google') {
      return send(
        res,
        401,
        { error: 'invalid_request', error_description: 'Invalid Credentials' },
        { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
      );
    }
    const id = token.identity as GoogleIdentity;
    const [given, ...family] = (id.name ?? '').split(' ');
    send(res, 200, {
      sub: id.sub,
      ...(id.name !== undefined ? { name: id.name, given_name: given, family_name: family.join(' ') || undefined } : {}),
      ...(id.picture !== undefined ? { picture: id.picture } : {}),
      ...(id.email !== undefined ? { email: id.email, email_verified: id.email_verified ?? false } : {}),
    });
  }

  function githubApi(req: http.IncomingMessage, path: string, res: http.ServerResponse): void {
    if (!req.headers['user-agent']) return send(res, 403, 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header.');
    const token = tokens.get(bearer(req) ?? '');
    if (!token || token.provider !== 'github') {
      return send(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
    }
    const id = token.identity as GitHubIdentity;
    if (path === '/user') {
      return send(res, 200, {
        login: id.login,
        id: id.id,
        node_id: `U_${id.id}`,
        avatar_url: id.avatar_url ?? `https://avatars.githubusercontent.example/u/${id.id}?v=4`,
        type: 'User',
        name: id.name ?? null,
        email: id.email ?? null,
      });
    }
    if (path === '/user/emails') {
      if (!token.scopes.includes('user:email') && !token.scopes.includes('user')) {
        return send(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/users/emails', status: '404' });
      }
      return send(
        res,
        200,
        id.emails.map((e) => ({ email: e.email, primary: e.primary, verified: e.verified, visibility: e.visibility ?? null })),
      );
    }
    send(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
  }

  const port = await listenLoopback(server);
  const url = `http://127.0.0.1:${port}`;
  const google = {
    ...clients.google,
    authorizeUrl: url + PATHS.googleAuthorize,
    tokenUrl: url + PATHS.googleToken,
    userinfoUrl: url + PATHS.googleUserinfo,
    signInAs: (identity: GoogleIdentity) => void (identities.google = structuredClone(identity)),
    denyNext: () => void (denying.google = true),
  };
  const github = {
    ...clients.github,
    authorizeUrl: url + PATHS.githubAuthorize,
    tokenUrl: url + PATHS.githubToken,
    apiUrl: url + PATHS.githubApi,
    signInAs: (identity: GitHubIdentity) => void (identities.github = structuredClone(identity)),
    denyNext: () => void (denying.github = true),
  };
  return {
    url,
    google,
    github,
    env: {
      OAUTH_REDIRECT_BASE_URL: base,
      GOOGLE_CLIENT_ID: google.clientId,
      GOOGLE_CLIENT_SECRET: google.clientSecret,
      GOOGLE_AUTHORIZE_URL: google.authorizeUrl,
      GOOGLE_TOKEN_URL: google.tokenUrl,
      GOOGLE_USERINFO_URL: google.userinfoUrl,
      GITHUB_CLIENT_ID: github.clientId,
      GITHUB_CLIENT_SECRET: github.clientSecret,
      GITHUB_AUTHORIZE_URL: github.authorizeUrl,
      GITHUB_TOKEN_URL: github.tokenUrl,
      GITHUB_API_URL: github.apiUrl,
    },
    requests: state.requests,
    count: (p) => state.count(p),
    close: () => closeServer(server),
  };
}
