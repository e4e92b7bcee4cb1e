import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { STUDIO_CSP } from '../../src/api/studio';
import { sha256Hex as sha256 } from '../../src/services/tokens';
import { call, registerUser, startTestApi, uniqueEmail, type Reply, type TestApi } from '../helpers/api';

function assertError(res: Reply, status: number, code: string, message?: RegExp) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body?.error?.code, code, JSON.stringify(res.body));
  if (message) assert.match(res.body.error.message, message);
}

/** The session cookie a response sets, with its attributes, and the `name=value` a browser sends back. */
function sessionCookieOf(res: Reply) {
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('aimake_session='));
  assert.ok(setCookie, `no session cookie in ${JSON.stringify(res.headers.getSetCookie())}`);
  const [pair, ...attributes] = setCookie.split(/;\s*/);
  return { pair: pair!, value: pair!.slice('aimake_session='.length), attributes: attributes.map((a) => a.toLowerCase()) };
}

/** A raw GET, so a path reaches the server exactly as written (fetch would normalise `..`). */
function rawGet(base: string, rawPath: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    http
      .get({ hostname, port, path: rawPath }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

describe('Web studio: cookie sessions and CSRF', function () {
  this.timeout(60_000);
  let api: TestApi;

  before(async () => {
    api = await startTestApi({ LOGIN_MAX_FAILURES_PER_EMAIL: '3', LOGIN_MAX_FAILURES_PER_IP: '1000' });
  });

  const password = 'correct horse battery staple';
  async function studioRegister(label: string) {
    const email = uniqueEmail(label);
    const res = await call(api.url, 'POST', '/v1/studio/register', { body: { email, password, name: label } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return { email, res, cookie: sessionCookieOf(res), csrfToken: res.body.csrfToken as string };
  }

  it('register sets an HttpOnly SameSite=Strict session cookie and never returns the token', async () => {
    const { email, res, cookie } = await studioRegister('studio-register');
    assert.deepEqual(Object.keys(res.body).sort(), ['csrfToken', 'user']);
    assert.equal(res.body.user.email, email);
    assert.match(res.body.csrfToken, /^[\w-]{43}$/);
    assert.match(cookie.value, /^st_[\w-]{40,}$/);
    assert.ok(!JSON.stringify(res.body).includes(cookie.value), 'the token is not in the body');
    assert.ok(cookie.attributes.includes('httponly'));
    assert.ok(cookie.attributes.includes('samesite=strict'));
    assert.ok(cookie.attributes.includes('path=/'));
    assert.ok(!cookie.attributes.includes('secure'), 'plain http without an https PUBLIC_URL');
    assert.equal(res.headers.get('cache-control'), 'no-store');

    const again = await call(api.url, 'POST', '/v1/studio/register', { body: { email, password } });
    assertError(again, 409, 'CONFLICT');
    assertError(await call(api.url, 'POST', '/v1/studio/register', { body: { email: uniqueEmail('short'), password: 'short' } }), 400, 'VALIDATION_FAILED');
  });

  it('the cookie authenticates GET /v1/me and /v1/studio/session, which hands back the same CSRF token', async () => {
    const { res, cookie, csrfToken } = await studioRegister('studio-me');
    const me = await call(api.url, 'GET', '/v1/me', { headers: { cookie: cookie.pair } });
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.user.id, res.body.user.id);

    const session = await call(api.url, 'GET', '/v1/studio/session', { headers: { cookie: cookie.pair } });
    assert.equal(session.status, 200, JSON.stringify(session.body));
    assert.deepEqual(session.body, { user: res.body.user, csrfToken });

    assertError(await call(api.url, 'GET', '/v1/studio/session'), 401, 'UNAUTHENTICATED');
    assertError(await call(api.url, 'GET', '/v1/studio/session', { headers: { cookie: 'aimake_session=st_not-a-session' } }), 401, 'UNAUTHENTICATED');
    assertError(await call(api.url, 'GET', '/v1/me', { headers: { cookie: 'aimake_session=st_not-a-session' } }), 401, 'UNAUTHENTICATED');
  });

  it('login sets the cookie; a wrong password is 401 and the login throttle applies as to /v1/auth/login', async () => {
    const { email } = await studioRegister('studio-login');
    const login = await call(api.url, 'POST', '/v1/studio/login', { body: { email, password } });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    assert.deepEqual(Object.keys(login.body).sort(), ['csrfToken', 'user']);
    const cookie = sessionCookieOf(login);
    assert.ok(cookie.attributes.includes('httponly') && cookie.attributes.includes('samesite=strict'));
    assert.equal((await call(api.url, 'GET', '/v1/me', { headers: { cookie: cookie.pair } })).status, 200);

    // Failures through either door count together (LOGIN_MAX_FAILURES_PER_EMAIL=3).
    assertError(await call(api.url, 'POST', '/v1/studio/login', { body: { email, password: 'wrong password 1' } }), 401, 'UNAUTHENTICATED');
    assertError(await call(api.url, 'POST', '/v1/auth/login', { body: { email, password: 'wrong password 2' } }), 401, 'UNAUTHENTICATED');
    assertError(await call(api.url, 'POST', '/v1/studio/login', { body: { email, password: 'wrong password 3' } }), 401, 'UNAUTHENTICATED');
    const throttled = await call(api.url, 'POST', '/v1/studio/login', { body: { email, password } });
    assertError(throttled, 429, 'RATE_LIMITED');
    assert.equal(throttled.headers.getSetCookie().length, 0, 'no cookie when refused');
  });

  it('unsafe methods with the cookie need the X-CSRF-Token; Bearer requests do not', async () => {
    const { res, cookie, csrfToken } = await studioRegister('studio-csrf');
    await api.knex('users').where({ id: res.body.user.id }).update({ plan: 'team' });
    const body = { name: 'from the studio' };

    const missing = await call(api.url, 'POST', '/v1/api-keys', { body, headers: { cookie: cookie.pair } });
    assertError(missing, 403, 'FORBIDDEN', /CSRF token missing or invalid/);
    const wrong = await call(api.url, 'POST', '/v1/api-keys', { body, headers: { cookie: cookie.pair, 'x-csrf-token': csrfToken.slice(0, -2) + 'AA' } });
    assertError(wrong, 403, 'FORBIDDEN', /CSRF/);
    // Another session's token is no good either.
    const other = await studioRegister('studio-csrf-other');
    assertError(await call(api.url, 'POST', '/v1/api-keys', { body, headers: { cookie: cookie.pair, 'x-csrf-token': other.csrfToken } }), 403, 'FORBIDDEN');
    assert.equal((await api.knex('api_keys').where({ user_id: res.body.user.id })).length, 0, 'nothing was created');

    const right = await call(api.url, 'POST', '/v1/api-keys', { body, headers: { cookie: cookie.pair, 'x-csrf-token': csrfToken } });
    assert.equal(right.status, 201, JSON.stringify(right.body));
    const keyId = right.body.id as string;
    assertError(await call(api.url, 'DELETE', `/v1/api-keys/${keyId}`, { headers: { cookie: cookie.pair } }), 403, 'FORBIDDEN');
    assert.equal((await call(api.url, 'DELETE', `/v1/api-keys/${keyId}`, { headers: { cookie: cookie.pair, 'x-csrf-token': csrfToken } })).status, 204);

    // A Bearer session needs no CSRF token, and a header always wins over the cookie.
    const bearer = await registerUser(api, 'studio-bearer');
    const me = await call(api.url, 'GET', '/v1/me', { token: bearer.token, headers: { cookie: cookie.pair } });
    assert.equal(me.body.user.id, bearer.user.id, 'the Authorization header, not the cookie, says who calls');
    const logoutBearer = await call(api.url, 'POST', '/v1/auth/logout', { token: bearer.token, headers: { cookie: cookie.pair } });
    assert.equal(logoutBearer.status, 204, JSON.stringify(logoutBearer.body));
    assert.equal((await call(api.url, 'GET', '/v1/me', { headers: { cookie: cookie.pair } })).status, 200, 'the cookie session is untouched');
  });

  it('logout needs the CSRF token, revokes the session server-side and expires the cookie', async () => {
    const { cookie, csrfToken } = await studioRegister('studio-logout');
    assertError(await call(api.url, 'POST', '/v1/studio/logout', { headers: { cookie: cookie.pair } }), 403, 'FORBIDDEN');
    assert.equal((await call(api.url, 'GET', '/v1/me', { headers: { cookie: cookie.pair } })).status, 200, 'still signed in');

    const out = await call(api.url, 'POST', '/v1/studio/logout', { headers: { cookie: cookie.pair, 'x-csrf-token': csrfToken } });
    assert.equal(out.status, 204, JSON.stringify(out.body));
    const cleared = sessionCookieOf(out);
    assert.equal(cleared.value, '');
    assert.ok(cleared.attributes.includes('max-age=0'));
    // The same cookie, replayed by anyone who kept it, is dead.
    assertError(await call(api.url, 'GET', '/v1/me', { headers: { cookie: cookie.pair } }), 401, 'UNAUTHENTICATED');
    assertError(await call(api.url, 'GET', '/v1/studio/session', { headers: { cookie: cookie.pair } }), 401, 'UNAUTHENTICATED');
    assert.equal(
      await api
        .knex('sessions')
        .where({ token_hash: sha256(cookie.value) })
        .first(),
      undefined,
    );
  });

  it('config lists no OAuth provider when none is configured', async () => {
    const res = await call(api.url, 'GET', '/v1/studio/config');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { oauthProviders: [] });
  });

  it('the cookie is Secure when PUBLIC_URL is https, and config names the configured providers', async () => {
    const secureApi = await startTestApi({ PUBLIC_URL: 'https://studio.aimake.test', GITHUB_CLIENT_ID: 'gh-id', GITHUB_CLIENT_SECRET: 'gh-secret' });
    const res = await call(secureApi.url, 'POST', '/v1/studio/register', { body: { email: uniqueEmail('studio-secure'), password } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.ok(sessionCookieOf(res).attributes.includes('secure'));
    assert.deepEqual((await call(secureApi.url, 'GET', '/v1/studio/config')).body, { oauthProviders: ['github'] });
  });

  it('declares the cookie in the OpenAPI document beside bearer and X-API-Key', async () => {
    const spec = (await call(api.url, 'GET', '/openapi.json')).body;
    assert.deepEqual(spec.components.securitySchemes.cookie, {
      type: 'apiKey',
      in: 'cookie',
      name: 'aimake_session',
      description: spec.components.securitySchemes.cookie.description,
    });
    assert.deepEqual(spec.security, [{ bearer: [] }, { apiKey: [] }, { cookie: [] }]);
    assert.deepEqual(spec.paths['/v1/me'].get.security, [{ bearer: [] }, { apiKey: [] }, { cookie: [] }]);
  });
});

describe('Web studio: static files', function () {
  this.timeout(60_000);
  let api: TestApi;
  let dist: string;
  const INDEX = '<!doctype html><html><head><script type="module" src="/studio/assets/index-abc123.js"></script></head><body></body></html>';

  before(async () => {
    // A stand-in for Vite's build: the API serves whatever the folder holds.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aimake-studio-'));
    dist = path.join(dir, 'dist');
    fs.mkdirSync(path.join(dist, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(dist, 'index.html'), INDEX);
    fs.writeFileSync(path.join(dist, 'assets', 'index-abc123.js'), 'console.log("studio")\n');
    fs.writeFileSync(path.join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    fs.writeFileSync(path.join(dist, '.env'), 'SECRET=1');
    // Beside the build, where a traversal would go.
    fs.writeFileSync(path.join(dir, 'secret.txt'), 'not for the web');
    api = await startTestApi({ STUDIO_DIR: dist });
  });

  function assertStudioHeaders(headers: Headers) {
    assert.equal(headers.get('content-security-policy'), STUDIO_CSP);
    // Word for word the studio contract's policy.
    assert.equal(
      STUDIO_CSP,
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
    );
    assert.equal(headers.get('x-content-type-options'), 'nosniff');
    assert.equal(headers.get('referrer-policy'), 'same-origin');
  }

  it('redirects / and /studio to /studio/', async () => {
    for (const p of ['/', '/studio']) {
      const res = await call(api.url, 'GET', p);
      assert.equal(res.status, 302, p);
      assert.equal(res.headers.get('location'), '/studio/', p);
    }
  });

  it('serves index.html for /studio/ and any path that is not a file (the app routes in the browser), never cached unchecked', async () => {
    for (const p of ['/studio/', '/studio/podcasts/123', '/studio/library?tab=audios', '/studio/assets/missing.js']) {
      const res = await call(api.url, 'GET', p);
      assert.equal(res.status, 200, p);
      assert.equal(res.body, INDEX, p);
      assert.match(res.headers.get('content-type')!, /^text\/html/);
      assert.equal(res.headers.get('cache-control'), 'no-cache', p);
      assertStudioHeaders(res.headers);
    }
  });

  it('serves hashed assets as immutable and other files for an hour, with revalidation', async () => {
    const js = await call(api.url, 'GET', '/studio/assets/index-abc123.js');
    assert.equal(js.status, 200);
    assert.equal(js.body, 'console.log("studio")\n');
    assert.match(js.headers.get('content-type')!, /javascript/);
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assertStudioHeaders(js.headers);

    const icon = await call(api.url, 'GET', '/studio/favicon.svg');
    assert.equal(icon.status, 200);
    assert.match(icon.headers.get('content-type')!, /^image\/svg\+xml/);
    assert.equal(icon.headers.get('cache-control'), 'public, max-age=3600');

    const again = await call(api.url, 'GET', '/studio/favicon.svg', { headers: { 'if-none-match': icon.headers.get('etag')! } });
    assert.equal(again.status, 304);
    const head = await fetch(`${api.url}/studio/assets/index-abc123.js`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String('console.log("studio")\n'.length));
  });

  it('refuses paths that leave the build or name hidden files', async () => {
    for (const p of [
      '/studio/..%2f..%2fpackage.json',
      '/studio/..%2fsecret.txt',
      '/studio/../secret.txt',
      '/studio/assets/../../secret.txt',
      '/studio/%2e%2e/secret.txt',
      '/studio/..%5csecret.txt',
      '/studio/.env',
      '/studio/%2eenv',
      '/studio/assets%00.js',
      '/studio/%E0%A4%A',
    ]) {
      const res = await rawGet(api.url, p);
      assert.equal(res.status, 404, `${p}: ${res.body}`);
      assert.doesNotMatch(res.body, /not for the web|SECRET=1|"devDependencies"/, p);
      assert.equal(JSON.parse(res.body).error.code, 'NOT_FOUND', p);
    }
  });

  it('answers 503 UNAVAILABLE, saying how to build, when there is no build', async () => {
    const unbuilt = await startTestApi({ STUDIO_DIR: path.join(os.tmpdir(), `aimake-no-studio-${process.pid}-${Date.now()}`) });
    for (const p of ['/studio/', '/studio/assets/index.js']) {
      const res = await call(unbuilt.url, 'GET', p);
      assertError(res, 503, 'UNAVAILABLE', /npm run build:web/);
      assertStudioHeaders(res.headers);
    }
    assert.equal((await call(unbuilt.url, 'GET', '/')).status, 302);
  });

  it('leaves the API alone: other methods and /v1 paths are not the studio', async () => {
    assertError(await call(api.url, 'POST', '/studio/'), 404, 'NOT_FOUND');
    const voices = await call(api.url, 'GET', '/v1/voices');
    assert.equal(voices.status, 200);
    assert.equal(voices.headers.get('content-security-policy'), null);
  });
});
