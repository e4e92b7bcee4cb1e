import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import type { Accounts } from '../../src/services/accounts';
import { OAuthService } from '../../src/services/oauth';
import { sha256Hex } from '../../src/services/tokens';
import { startFakeOAuthProvider, type FakeOAuthProvider, type GitHubIdentity, type GoogleIdentity } from '../fakes/oauthProvider';
import { call, registerUser, startTestApi, uniqueEmail, type Reply, type TestApi } from '../helpers/api';
import { onTeardown } from '../helpers/teardown';

type Provider = 'google' | 'github';

// Where the provider sends the browser back: a front end that forwards code and state to the
// API, as a deployment with OAUTH_REDIRECT_BASE_URL would. The test plays that part.
const REDIRECT_BASE = 'https://app.aimake.test';

function assertError(res: Reply, status: number, code: string, message?: RegExp) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body?.error?.code, code, JSON.stringify(res.body));
  if (message) assert.match(res.body.error.message, message);
}

let seq = 0;
const googleSub = () => `1${Date.now()}${String(seq++).padStart(4, '0')}`;
const githubId = () => Date.now() * 100 + (seq++ % 100);

describe('OAuth sign-in (Google, GitHub)', function () {
  this.timeout(60_000);
  let api: TestApi;
  let fake: FakeOAuthProvider;

  before(async () => {
    fake = await startFakeOAuthProvider({ redirectBase: REDIRECT_BASE });
    onTeardown(() => fake.close());
    api = await startTestApi(fake.env);
  });

  // The browser that started each sign-in: the state cookie the API set for it, by state.
  const browserCookies = new Map<string, string>();

  /** Step 1 in a browser: the API's redirect to the provider, and the state cookie it sets. */
  async function begin(provider: Provider, base = api.url, client?: 'studio'): Promise<URL> {
    const start = await call(base, 'GET', `/v1/auth/oauth/${provider}${client ? `?client=${client}` : ''}`);
    assert.equal(start.status, 302, JSON.stringify(start.body));
    assert.equal(start.headers.get('cache-control'), 'no-store');
    const setCookie = start.headers.get('set-cookie') ?? '';
    assert.match(setCookie, new RegExp(`^aimake_oauth_${provider}=[^;]+; path=/v1/auth/oauth/${provider};.*samesite=lax; httponly`));
    const location = new URL(start.headers.get('location')!);
    browserCookies.set(location.searchParams.get('state')!, setCookie.split(';')[0]!);
    return location;
  }

  /** The API's redirect, followed to the fake provider, which sends the browser back with a code. */
  async function authorize(provider: Provider, base = api.url, client?: 'studio'): Promise<{ authorizeUrl: URL; back: URL }> {
    const authorizeUrl = await begin(provider, base, client);
    const atProvider = await fetch(authorizeUrl, { redirect: 'manual' });
    assert.equal(atProvider.status, 302, await atProvider.text());
    const back = new URL(atProvider.headers.get('location')!);
    assert.equal(`${back.origin}${back.pathname}`, `${REDIRECT_BASE}/v1/auth/oauth/${provider}/callback`);
    return { authorizeUrl, back };
  }

  /** The callback, from the browser that started that sign-in (it sends that state's cookie). */
  const callback = (provider: Provider, search: string | URLSearchParams, base = api.url) => {
    const params = new URLSearchParams(search);
    const cookie = browserCookies.get(params.get('state') ?? '');
    return call(base, 'GET', `/v1/auth/oauth/${provider}/callback?${params.toString()}`, { headers: cookie ? { cookie } : {} });
  };

  it('refuses a callback arriving in a browser that did not start the sign-in (login CSRF)', async () => {
    googleAs({ sub: `csrf-${Date.now()}`, email: `csrf.${Date.now()}@example.test`, email_verified: true });
    const { back } = await authorize('google');
    const elsewhere = await call(api.url, 'GET', `/v1/auth/oauth/google/callback${back.search}`);
    assertError(elsewhere, 400, 'VALIDATION_FAILED', /browser/);
    const wrongCookie = await call(api.url, 'GET', `/v1/auth/oauth/google/callback${back.search}`, {
      headers: { cookie: 'aimake_oauth_google=someone-elses-state' },
    });
    assertError(wrongCookie, 400, 'VALIDATION_FAILED', /browser/);
    assert.equal((await callback('google', back.search)).status, 200, 'the browser that started it still signs in');
  });

  async function signIn(provider: Provider, base = api.url) {
    const { back } = await authorize(provider, base);
    return { res: await callback(provider, back.search, base), back };
  }

  function googleAs(identity: GoogleIdentity) {
    fake.google.signInAs(identity);
  }
  function githubAs(identity: GitHubIdentity) {
    fake.github.signInAs(identity);
  }

  it('Google end to end: state and PKCE S256, code exchange, userinfo, a new verified account without a password', async () => {
    const sub = googleSub();
    const email = uniqueEmail('google-new');
    googleAs({ sub, email: email.toUpperCase(), email_verified: true, name: 'Grace Hopper', picture: 'https://lh3.googleusercontent.example/a/grace' });

    const { authorizeUrl, back } = await authorize('google');
    assert.equal(`${authorizeUrl.origin}${authorizeUrl.pathname}`, fake.google.authorizeUrl);
    const q = authorizeUrl.searchParams;
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('client_id'), fake.google.clientId);
    assert.equal(q.get('redirect_uri'), `${REDIRECT_BASE}/v1/auth/oauth/google/callback`);
    assert.equal(q.get('scope'), 'openid email profile');
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('code_challenge')!, /^[\w-]{43}$/);
    const state = q.get('state')!;
    assert.ok(state.length >= 32, 'state carries enough randomness');
    assert.equal(back.searchParams.get('state'), state, 'the provider hands the state back');

    const stored = await api.knex('oauth_states').where({ state_hash: sha256Hex(state) });
    assert.equal(stored.length, 1, 'the state is kept server-side as a hash');
    assert.equal(stored[0]!.provider, 'google');
    assert.equal((await api.knex('oauth_states').where({ state_hash: state })).length, 0, 'never in clear');

    const tokenCalls = fake.count('/google/token');
    const res = await callback('google', back.search);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(Object.keys(res.body).sort(), ['token', 'user']);
    assert.match(res.body.token, /^st_[\w-]{40,}$/);
    assert.equal(res.body.user.email, email, 'stored lower-cased');
    assert.equal(res.body.user.isVerified, true);
    assert.equal(res.body.user.name, 'Grace Hopper');
    assert.equal(res.body.user.avatarUrl, 'https://lh3.googleusercontent.example/a/grace');

    // The real exchange happened: client secret, redirect URI and the PKCE verifier matching the challenge.
    assert.equal(fake.count('/google/token'), tokenCalls + 1);
    const exchange = new URLSearchParams(fake.requests.filter((r) => r.path === '/google/token').at(-1)!.body as string);
    assert.equal(exchange.get('grant_type'), 'authorization_code');
    assert.equal(crypto.createHash('sha256').update(exchange.get('code_verifier')!).digest('base64url'), q.get('code_challenge'));
    assert.equal((await api.knex('oauth_states').where({ state_hash: sha256Hex(state) })).length, 0, 'the state is consumed');

    const me = await call(api.url, 'GET', '/v1/me', { token: res.body.token });
    assert.equal(me.status, 200);
    assert.equal(me.body.user.id, res.body.user.id);

    const row = await api.knex('users').where({ id: res.body.user.id }).first();
    assert.ok(row);
    assert.equal(row.google_id, sub);
    assert.equal(row.github_id, null);
    assert.equal(row.password_hash, null, 'no password: this account signs in with Google');
    assert.equal(row.is_verified, true);
    assert.ok(row.last_login_at, 'last_login_at is recorded');
    const now = new Date();
    assert.equal(row.quota_reset_at!.toISOString(), new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString());

    // Password login cannot open this account.
    const login = await call(api.url, 'POST', '/v1/auth/login', { body: { email, password: 'anything-at-all' } });
    assert.equal(login.status, 401);
  });

  it('GitHub end to end: uses the verified primary address from /user/emails, not the public profile email', async () => {
    const id = githubId();
    const primary = uniqueEmail('gh-primary');
    const publicEmail = uniqueEmail('gh-public');
    githubAs({
      id,
      login: `octo-${id}`,
      name: null,
      email: publicEmail,
      emails: [
        { email: uniqueEmail('gh-secondary'), primary: false, verified: true },
        { email: primary, primary: true, verified: true, visibility: 'private' },
        { email: uniqueEmail('gh-unverified'), primary: false, verified: false },
      ],
    });
    const emailsCalls = fake.count('/github-api/user/emails');
    const { back } = await authorize('github');
    const res = await callback('github', back.search);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.user.email, primary);
    assert.equal(res.body.user.name, `octo-${id}`, 'the login stands in for a missing name');
    assert.equal(res.body.user.isVerified, true);
    assert.equal(fake.count('/github-api/user/emails'), emailsCalls + 1);
    const exchange = new URLSearchParams(fake.requests.filter((r) => r.path === '/github/login/oauth/access_token').at(-1)!.body as string);
    assert.ok(exchange.get('code_verifier'), 'PKCE with GitHub too');

    const row = await api.knex('users').where({ id: res.body.user.id }).first();
    assert.ok(row);
    assert.equal(row.github_id, String(id));
    assert.equal(row.google_id, null);
    assert.equal(row.password_hash, null);
    assert.equal((await api.knex('users').where({ email: publicEmail })).length, 0);
    const me = await call(api.url, 'GET', '/v1/me', { token: res.body.token });
    assert.equal(me.status, 200);
    assert.equal(me.body.user.email, primary);
  });

  it('finds the same user by subject id on a later sign-in, even after the provider email changed', async () => {
    const sub = googleSub();
    const first = uniqueEmail('g-first');
    googleAs({ sub, email: first, email_verified: true, name: 'First' });
    const one = await signIn('google');
    assert.equal(one.res.status, 200);

    const changed = uniqueEmail('g-changed');
    googleAs({ sub, email: changed, email_verified: false, name: 'Renamed' });
    const two = await signIn('google');
    assert.equal(two.res.status, 200, JSON.stringify(two.res.body));
    assert.equal(two.res.body.user.id, one.res.body.user.id);
    assert.equal(two.res.body.user.email, first, 'the account keeps its email');
    assert.notEqual(two.res.body.token, one.res.body.token);
    assert.equal((await api.knex('users').where({ email: changed })).length, 0);

    const id = githubId();
    githubAs({ id, login: `gh-${id}`, emails: [{ email: uniqueEmail('gh-first'), primary: true, verified: true }] });
    const gh1 = await signIn('github');
    githubAs({ id, login: `gh-${id}-renamed`, emails: [{ email: uniqueEmail('gh-new'), primary: true, verified: true }] });
    const gh2 = await signIn('github');
    assert.equal(gh2.res.status, 200);
    assert.equal(gh2.res.body.user.id, gh1.res.body.user.id);
  });

  it('links a verified provider email to an existing verified password account', async () => {
    const { email, password, user } = await registerUser(api, 'linkme');
    await api.knex('users').where({ id: user.id }).update({ is_verified: true });

    const sub = googleSub();
    googleAs({ sub, email: email.toUpperCase(), email_verified: true, name: 'Someone Else' });
    const g = await signIn('google');
    assert.equal(g.res.status, 200, JSON.stringify(g.res.body));
    assert.equal(g.res.body.user.id, user.id);

    const id = githubId();
    githubAs({ id, login: `linker-${id}`, emails: [{ email, primary: true, verified: true }] });
    const gh = await signIn('github');
    assert.equal(gh.res.status, 200, JSON.stringify(gh.res.body));
    assert.equal(gh.res.body.user.id, user.id);

    const row = await api.knex('users').where({ id: user.id }).first();
    assert.ok(row);
    assert.equal(row.google_id, sub);
    assert.equal(row.github_id, String(id));
    assert.equal(row.name, 'linkme', 'linking does not rewrite the profile');
    assert.ok(row.password_hash, 'the password still works');
    assert.equal((await call(api.url, 'POST', '/v1/auth/login', { body: { email, password } })).status, 200);
  });

  it("does not let a pre-registered, never verified password account capture the real owner's sign-in", async () => {
    // Someone registered the victim's address with a password of their own and never verified it.
    const squatter = await registerUser(api, 'victim');
    const victimSub = googleSub();
    googleAs({ sub: victimSub, email: squatter.email, email_verified: true, name: 'Victim' });
    const res = (await signIn('google')).res;
    assertError(res, 409, 'CONFLICT', /never verified/);

    const id = githubId();
    githubAs({ id, login: `victim-${id}`, emails: [{ email: squatter.email, primary: true, verified: true }] });
    assertError((await signIn('github')).res, 409, 'CONFLICT', /never verified/);

    const row = await api.knex('users').where({ id: squatter.user.id }).first();
    assert.ok(row);
    assert.equal(row.google_id, null, "the squatter's account gets no google_id");
    assert.equal(row.github_id, null);
    assert.equal(row.is_verified, false);
    assert.equal((await api.knex('users').where({ google_id: victimSub })).length, 0);
    assert.equal((await api.knex('sessions').where({ user_id: squatter.user.id })).length, 1, 'only the session of registration');
  });

  it('refuses to link an account that is already linked to another identity of the same provider', async () => {
    const { email, user } = await registerUser(api, 'linked');
    await api.knex('users').where({ id: user.id }).update({ is_verified: true });
    const sub1 = googleSub();
    googleAs({ sub: sub1, email, email_verified: true });
    assert.equal((await signIn('google')).res.status, 200);
    googleAs({ sub: googleSub(), email, email_verified: true });
    assertError((await signIn('google')).res, 409, 'CONFLICT', /already linked/);
    assert.equal((await api.knex('users').where({ id: user.id }).first())!.google_id, sub1);
  });

  it("refuses a tampered, unknown, expired or other provider's state with 400, and a missing code", async () => {
    googleAs({ sub: googleSub(), email: uniqueEmail('state'), email_verified: true });
    const { back } = await authorize('google');
    const state = back.searchParams.get('state')!;

    const tampered = new URLSearchParams(back.search);
    tampered.set('state', state.slice(0, -2) + (state.endsWith('AA') ? 'BB' : 'AA'));
    assertError(await callback('google', tampered), 400, 'VALIDATION_FAILED', /state/);
    const missing = new URLSearchParams(back.search);
    missing.delete('state');
    assertError(await callback('google', missing), 400, 'VALIDATION_FAILED', /state/);
    // Tampering burned nothing: the genuine callback still goes through.
    assert.equal((await callback('google', back.search)).status, 200);

    const late = await authorize('google');
    await api
      .knex('oauth_states')
      .where({ state_hash: sha256Hex(late.back.searchParams.get('state')!) })
      .update({ created_at: api.knex.raw(`NOW() - INTERVAL '11 minutes'`) });
    assertError(await callback('google', late.back.search), 400, 'VALIDATION_FAILED', /expired/);

    githubAs({ id: githubId(), login: 'cross', emails: [{ email: uniqueEmail('cross'), primary: true, verified: true }] });
    const gh = await authorize('github');
    assertError(await callback('google', gh.back.search), 400, 'VALIDATION_FAILED');

    const noCode = await authorize('google');
    const withoutCode = new URLSearchParams(noCode.back.search);
    withoutCode.delete('code');
    assertError(await callback('google', withoutCode), 400, 'VALIDATION_FAILED', /code/);
  });

  it('refuses a replayed callback, and a used code presented with a fresh state', async () => {
    googleAs({ sub: googleSub(), email: uniqueEmail('replay'), email_verified: true });
    const first = await signIn('google');
    assert.equal(first.res.status, 200);
    const sessions = Number((await api.knex('sessions').where({ user_id: first.res.body.user.id }).count<{ n: number }[]>('* as n'))[0]!.n);

    assertError(await callback('google', first.back.search), 400, 'VALIDATION_FAILED');

    // A fresh state from this API, with the old code: the provider refuses the code (used once,
    // and its PKCE verifier belongs to the other sign-in).
    const fresh = await begin('google');
    const replay = new URLSearchParams(first.back.search);
    replay.set('state', fresh.searchParams.get('state')!);
    assertError(await callback('google', replay), 401, 'UNAUTHENTICATED', /invalid_grant/);

    const ghId = githubId();
    githubAs({ id: ghId, login: `replay-${ghId}`, emails: [{ email: uniqueEmail('gh-replay'), primary: true, verified: true }] });
    const gh = await signIn('github');
    assert.equal(gh.res.status, 200);
    assertError(await callback('github', gh.back.search), 400, 'VALIDATION_FAILED');
    const ghFresh = await begin('github');
    const ghReplay = new URLSearchParams(gh.back.search);
    ghReplay.set('state', ghFresh.searchParams.get('state')!);
    assertError(await callback('github', ghReplay), 401, 'UNAUTHENTICATED', /bad_verification_code/);

    const after = Number((await api.knex('sessions').where({ user_id: first.res.body.user.id }).count<{ n: number }[]>('* as n'))[0]!.n);
    assert.equal(after, sessions, 'no session came of the replays');
  });

  it('refuses to create or link with an unverified provider email (403)', async () => {
    const email = uniqueEmail('unverified');
    googleAs({ sub: googleSub(), email, email_verified: false });
    assertError((await signIn('google')).res, 403, 'FORBIDDEN', /verified email/);
    googleAs({ sub: googleSub() });
    assertError((await signIn('google')).res, 403, 'FORBIDDEN', /verified email/);

    // A verified password account with that address is not linked on an unverified claim either.
    const owner = await registerUser(api, 'owner');
    await api.knex('users').where({ id: owner.user.id }).update({ is_verified: true });
    googleAs({ sub: googleSub(), email: owner.email, email_verified: false });
    assertError((await signIn('google')).res, 403, 'FORBIDDEN');
    assert.equal((await api.knex('users').where({ id: owner.user.id }).first())!.google_id, null);

    // GitHub: the primary address is unverified; a verified secondary one does not stand in for it.
    const primary = uniqueEmail('gh-unverified-primary');
    const secondary = uniqueEmail('gh-verified-secondary');
    githubAs({
      id: githubId(),
      login: 'unverified',
      emails: [
        { email: primary, primary: true, verified: false },
        { email: secondary, primary: false, verified: true },
      ],
    });
    assertError((await signIn('github')).res, 403, 'FORBIDDEN', /verified email/);
    assert.equal((await api.knex('users').whereIn('email', [email, primary, secondary])).length, 0);
  });

  it('refuses inactive users, known by subject or by email', async () => {
    const sub = googleSub();
    googleAs({ sub, email: uniqueEmail('inactive'), email_verified: true });
    const first = await signIn('google');
    assert.equal(first.res.status, 200);
    await api.knex('users').where({ id: first.res.body.user.id }).update({ is_active: false });
    const before = await api.knex('users').where({ id: first.res.body.user.id }).first();
    assertError((await signIn('google')).res, 403, 'FORBIDDEN', /disabled/);
    const after = await api.knex('users').where({ id: first.res.body.user.id }).first();
    assert.equal(after!.last_login_at!.toISOString(), before!.last_login_at!.toISOString());

    const { email, user } = await registerUser(api, 'inactive-pw');
    await api.knex('users').where({ id: user.id }).update({ is_verified: true, is_active: false });
    const id = githubId();
    githubAs({ id, login: `inactive-${id}`, emails: [{ email, primary: true, verified: true }] });
    assertError((await signIn('github')).res, 403, 'FORBIDDEN', /disabled/);
    assert.equal((await api.knex('users').where({ id: user.id }).first())!.github_id, null);
  });

  it('answers 401 when the person declines at the provider, and the state is spent', async () => {
    fake.google.denyNext();
    const { back } = await authorize('google');
    assert.equal(back.searchParams.get('error'), 'access_denied');
    assertError(await callback('google', back.search), 401, 'UNAUTHENTICATED', /access_denied/);
    assert.equal((await api.knex('oauth_states').where({ state_hash: sha256Hex(back.searchParams.get('state')!) })).length, 0);
  });

  it('answers 404 for a provider that is not configured, and 503 when the client secret is wrong', async () => {
    const googleOnly = await startTestApi({ ...fake.env, GITHUB_CLIENT_ID: '', GITHUB_CLIENT_SECRET: '' });
    assertError(await call(googleOnly.url, 'GET', '/v1/auth/oauth/github'), 404, 'NOT_FOUND', /GitHub sign-in is not configured/);
    assertError(await call(googleOnly.url, 'GET', '/v1/auth/oauth/github/callback?code=x&state=y'), 404, 'NOT_FOUND', /not configured/);
    assert.equal((await call(googleOnly.url, 'GET', '/v1/auth/oauth/google')).status, 302);
    assertError(await call(googleOnly.url, 'GET', '/v1/auth/oauth/facebook'), 404, 'NOT_FOUND');

    const wrongSecret = await startTestApi({ ...fake.env, GOOGLE_CLIENT_SECRET: 'not-the-secret' });
    googleAs({ sub: googleSub(), email: uniqueEmail('misconfigured'), email_verified: true });
    assertError((await signIn('google', wrongSecret.url)).res, 503, 'UNAVAILABLE', /misconfigured/);

    // A client id without its secret is refused at start, not at the first sign-in.
    const config = loadConfig({ ...process.env, ...fake.env, GOOGLE_CLIENT_SECRET: '' });
    assert.throws(() => new OAuthService(api.knex, {} as Accounts, config, createLogger('silent')), /GOOGLE_CLIENT_SECRET/);
  });

  it('started by the web studio (?client=studio), the callback sets the session cookie and sends the browser to /studio/', async () => {
    const sub = googleSub();
    const email = uniqueEmail('studio-google');
    googleAs({ sub, email, email_verified: true, name: 'Studio Person' });
    const { back } = await authorize('google', api.url, 'studio');
    const res = await callback('google', back.search);
    assert.equal(res.status, 302, JSON.stringify(res.body));
    assert.equal(res.headers.get('location'), '/studio/');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('aimake_session='));
    assert.ok(setCookie, JSON.stringify(res.headers.getSetCookie()));
    assert.match(setCookie, /^aimake_session=st_[\w-]{40,}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
    const cookie = setCookie.split(';')[0]!;
    assert.ok(!String(res.body).includes(cookie.slice('aimake_session='.length)), 'the token is not in the body');

    const session = await call(api.url, 'GET', '/v1/studio/session', { headers: { cookie } });
    assert.equal(session.status, 200, JSON.stringify(session.body));
    assert.equal(session.body.user.email, email);
    assert.equal((await api.knex('users').where({ id: session.body.user.id }).first())!.google_id, sub);

    // The mark cannot be put on an API sign-in's state on the way back: that state is unknown.
    googleAs({ sub, email, email_verified: true });
    const plain = await authorize('google');
    const forged = new URLSearchParams(plain.back.search);
    forged.set('state', `${forged.get('state')}.studio`);
    const cookieOfPlain = browserCookies.get(plain.back.searchParams.get('state')!)!;
    const refused = await call(api.url, 'GET', `/v1/auth/oauth/google/callback?${forged.toString()}`, {
      headers: { cookie: `${cookieOfPlain}.studio` },
    });
    // Refused, and (the state claiming the studio) sent to the studio's page with the reason, signed in as no one.
    assert.equal(refused.status, 302);
    const refusedAt = new URL(refused.headers.get('location')!, api.url);
    assert.equal(refusedAt.pathname, '/studio/');
    assert.match(refusedAt.searchParams.get('signInError') ?? '', /state/);
    assert.equal(refused.headers.getSetCookie().filter((c) => c.startsWith('aimake_session=')).length, 0);
    // Without ?client=studio the answer is the API's, as before.
    const api1 = await callback('google', plain.back.search);
    assert.equal(api1.status, 200, JSON.stringify(api1.body));
    assert.match(api1.body.token, /^st_/);
    assert.equal(api1.headers.getSetCookie().filter((c) => c.startsWith('aimake_session=')).length, 0);

    assertError(await call(api.url, 'GET', '/v1/auth/oauth/google?client=mobile'), 400, 'VALIDATION_FAILED');
  });

  it('a studio sign-in the person cancels at the provider returns to the studio with the reason; an API one answers the error', async () => {
    const studio = await authorize('google', api.url, 'studio');
    const state = studio.back.searchParams.get('state')!;
    const cancelled = await call(api.url, 'GET', `/v1/auth/oauth/google/callback?error=access_denied&state=${encodeURIComponent(state)}`, {
      headers: { cookie: browserCookies.get(state)! },
    });
    assert.equal(cancelled.status, 302, JSON.stringify(cancelled.body));
    const at = new URL(cancelled.headers.get('location')!, api.url);
    assert.equal(at.pathname, '/studio/');
    assert.match(at.searchParams.get('signInError') ?? '', /not completed at Google \(access_denied\)/);
    assert.equal(cancelled.headers.getSetCookie().filter((c) => c.startsWith('aimake_session=')).length, 0);

    const plain = await authorize('google');
    const plainState = plain.back.searchParams.get('state')!;
    const refused = await call(api.url, 'GET', `/v1/auth/oauth/google/callback?error=access_denied&state=${encodeURIComponent(plainState)}`, {
      headers: { cookie: browserCookies.get(plainState)! },
    });
    assertError(refused, 401, 'UNAUTHENTICATED', /access_denied/);
  });

  it('documents the OAuth routes in /openapi.json', async () => {
    const doc = await call(api.url, 'GET', '/openapi.json');
    for (const p of ['/v1/auth/oauth/google', '/v1/auth/oauth/google/callback', '/v1/auth/oauth/github', '/v1/auth/oauth/github/callback']) {
      assert.ok(doc.body.paths[p]?.get, `${p} documented`);
    }
    const params = doc.body.paths['/v1/auth/oauth/github/callback'].get.parameters.map((p: { name: string }) => p.name).sort();
    assert.deepEqual(params, ['code', 'error', 'state']);
  });
});
