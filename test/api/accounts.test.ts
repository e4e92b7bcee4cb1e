import { msToTs } from '@temporalio/common/lib/time';
import assert from 'node:assert/strict';
import { ensureSearchAttributes } from '../../src/temporal/searchAttributes';
import { call, registerUser, startTestApi, uniqueEmail, type TestApi } from '../helpers/api';
import { eventually } from '../helpers/stack';
import { testTemporal } from '../helpers/temporal';

function assertErrorShape(body: any, code: string) {
  assert.equal(typeof body?.error?.message, 'string', `error shape expected, got ${JSON.stringify(body)}`);
  assert.equal(body.error.code, code);
}

describe('accounts API', function () {
  this.timeout(60_000);
  let api: TestApi;

  before(async () => {
    // A tight failure limit so the throttle test runs quickly; other tests use their own emails.
    api = await startTestApi({ LOGIN_MAX_FAILURES_PER_EMAIL: '3', LOGIN_MAX_FAILURES_PER_IP: '50' });
  });

  it('registers, returns the user and a token, and hashes the password with argon2id', async () => {
    const email = uniqueEmail('reg');
    const res = await call(api.url, 'POST', '/v1/auth/register', { body: { email: email.toUpperCase(), password: 'abcdefgh', name: 'Ada' } });
    assert.equal(res.status, 201);
    assert.equal(res.body.user.email, email, 'emails are stored lower-cased');
    assert.equal(res.body.user.name, 'Ada');
    assert.equal(res.body.user.plan, 'free');
    assert.equal(res.body.user.isVerified, false);
    assert.match(res.body.token, /^st_[\w-]{40,}$/);
    const row = await api.knex('users').where({ email }).first();
    assert.ok(row);
    // argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane), in whichever order the library writes them.
    const [, algorithm, version, params] = row.password_hash!.split('$');
    assert.deepEqual({ algorithm, version, params: params!.split(',').sort() }, { algorithm: 'argon2id', version: 'v=19', params: ['m=19456', 'p=1', 't=2'] });
    const session = await api.knex('sessions').where({ user_id: row.id }).first();
    assert.ok(session);
    assert.notEqual(session.token_hash, res.body.token, 'only a hash of the token is stored');
  });

  it('refuses a duplicate email with 409 CONFLICT', async () => {
    const { email } = await registerUser(api, 'dup');
    const res = await call(api.url, 'POST', '/v1/auth/register', { body: { email, password: 'another-password' } });
    assert.equal(res.status, 409);
    assertErrorShape(res.body, 'CONFLICT');
  });

  it('validates register input and names the fields', async () => {
    const res = await call(api.url, 'POST', '/v1/auth/register', { body: { email: 'not-an-email', password: 'short', extra: 1 } });
    assert.equal(res.status, 400);
    assertErrorShape(res.body, 'VALIDATION_FAILED');
    const fields = res.body.error.details.fields.map((f: { field: string }) => f.field);
    assert.ok(fields.includes('body.email') && fields.includes('body.password'), JSON.stringify(fields));
    const long = await call(api.url, 'POST', '/v1/auth/register', { body: { email: uniqueEmail(), password: 'x'.repeat(129) } });
    assert.equal(long.status, 400);
  });

  it('answers malformed JSON with 400 VALIDATION_FAILED', async () => {
    const res = await call(api.url, 'POST', '/v1/auth/register', { rawBody: '{"email": "a@b.c", ' });
    assert.equal(res.status, 400);
    assertErrorShape(res.body, 'VALIDATION_FAILED');
    assert.match(res.body.error.message, /JSON/);
  });

  it('answers a 2 MB body with 413 PAYLOAD_TOO_LARGE', async () => {
    const big = JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(2 * 1024 * 1024) });
    const res = await call(api.url, 'POST', '/v1/auth/register', { rawBody: big });
    assert.equal(res.status, 413);
    assertErrorShape(res.body, 'PAYLOAD_TOO_LARGE');
    // The same without a declared length (chunked) is cut off by the parser's limit.
    const chunked = await fetch(api.url + '/v1/auth/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Blob([big]).stream(),
      duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 413);
    assertErrorShape(await chunked.json(), 'PAYLOAD_TOO_LARGE');
  });

  it('answers unknown routes with 404 NOT_FOUND in the error shape', async () => {
    const res = await call(api.url, 'GET', '/v1/nothing-here');
    assert.equal(res.status, 404);
    assertErrorShape(res.body, 'NOT_FOUND');
  });

  it('logs in, gives the same 401 for a wrong password and an unknown email', async () => {
    const { email, password } = await registerUser(api, 'login');
    const ok = await call(api.url, 'POST', '/v1/auth/login', { body: { email, password } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.user.email, email);
    const row = await api.knex('users').where({ email }).first();
    assert.ok(row);
    assert.ok(row.last_login_at, 'last_login_at is recorded');

    const wrong = await call(api.url, 'POST', '/v1/auth/login', { body: { email, password: 'wrong-password' } });
    const unknown = await call(api.url, 'POST', '/v1/auth/login', { body: { email: uniqueEmail('nobody'), password: 'wrong-password' } });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assertErrorShape(wrong.body, 'UNAUTHENTICATED');
    assert.deepEqual(wrong.body, unknown.body);
  });

  it('slows down repeated failed logins for one email with 429 and Retry-After', async () => {
    const { email, password } = await registerUser(api, 'throttle');
    for (let i = 0; i < 3; i++) {
      const r = await call(api.url, 'POST', '/v1/auth/login', { body: { email, password: 'wrong-password' } });
      assert.equal(r.status, 401);
    }
    const blocked = await call(api.url, 'POST', '/v1/auth/login', { body: { email, password } });
    assert.equal(blocked.status, 429, 'even the right password waits once the limit is reached');
    assertErrorShape(blocked.body, 'RATE_LIMITED');
    const retryAfter = Number(blocked.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 900, `Retry-After ${retryAfter}`);
    // Another account is unaffected.
    const other = await registerUser(api, 'unaffected');
    const fine = await call(api.url, 'POST', '/v1/auth/login', { body: { email: other.email, password: other.password } });
    assert.equal(fine.status, 200);
  });

  it('shows /v1/me with the quota of seed query 3.2, and logout revokes the token', async () => {
    const { token, email, user } = await registerUser(api, 'me');
    await api.knex('users').where({ id: user.id }).update({ quota_used: 125 });
    const me = await call(api.url, 'GET', '/v1/me', { token });
    assert.equal(me.status, 200);
    assert.equal(me.body.user.email, email);
    assert.deepEqual(Object.keys(me.body.user).sort(), ['avatarUrl', 'createdAt', 'email', 'id', 'isVerified', 'name', 'plan']);
    const { resetAt, ...quota } = me.body.quota;
    assert.deepEqual(quota, { limit: 600, used: 125, remaining: 475, reserved: 0 });
    const now = new Date();
    assert.equal(resetAt, new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString(), 'resets at the start of next month, UTC');

    const out = await call(api.url, 'POST', '/v1/auth/logout', { token });
    assert.equal(out.status, 204);
    const after = await call(api.url, 'GET', '/v1/me', { token });
    assert.equal(after.status, 401);
    assertErrorShape(after.body, 'UNAUTHENTICATED');
  });

  it('refuses /v1/me without a token, with a forged one, and for a deactivated user', async () => {
    assert.equal((await call(api.url, 'GET', '/v1/me')).status, 401);
    assert.equal((await call(api.url, 'GET', '/v1/me', { token: 'st_forged' })).status, 401);
    const { token, user } = await registerUser(api, 'inactive');
    await api.knex('users').where({ id: user.id }).update({ is_active: false });
    assert.equal((await call(api.url, 'GET', '/v1/me', { token })).status, 401);
  });

  it('lists active voices ordered by sort_order then id, with filters', async () => {
    const all = await call(api.url, 'GET', '/v1/voices');
    assert.equal(all.status, 200);
    const ids = all.body.items.map((v: { id: string }) => v.id);
    for (const id of ['openai-alloy', 'openai-nova', 'eleven-rachel', 'eleven-adam']) assert.ok(ids.includes(id), id);
    const rachel = all.body.items.find((v: { id: string }) => v.id === 'eleven-rachel');
    assert.equal(rachel.nameZh, '专业女声');
    assert.equal(rachel.isPremium, true);
    assert.equal(rachel.renderedLocally, true, 'no ElevenLabs key here: espeak-ng speaks it, and the API says so');
    assert.equal(all.body.items.find((v: { id: string }) => v.id === 'local-zh-female').renderedLocally, false);
    const expected = await api
      .knex('voices')
      .where({ is_active: true })
      .orderBy([{ column: 'sort_order' }, { column: 'id' }])
      .pluck('id');
    assert.deepEqual(ids, expected);
    assert.deepEqual(
      [...ids].sort(),
      [...ids].sort((a: string, b: string) => a.localeCompare(b)),
    );
    const byProvider = await call(api.url, 'GET', '/v1/voices?provider=elevenlabs');
    assert.deepEqual(
      byProvider.body.items.map((v: { id: string }) => v.id),
      ['eleven-adam', 'eleven-rachel'],
    );
    const tooLong = await call(api.url, 'GET', `/v1/voices?language=${'x'.repeat(50)}`);
    assert.equal(tooLong.status, 400);
  });
});

describe('operations endpoints', function () {
  this.timeout(60_000);

  it('serves healthz, readyz, metrics and an OpenAPI 3.1 document', async () => {
    const api = await startTestApi();
    assert.deepEqual((await call(api.url, 'GET', '/healthz')).body, { status: 'ok' });
    const ready = await call(api.url, 'GET', '/readyz');
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.deepEqual(ready.body.checks, { postgres: 'ok', temporal: 'ok' });

    await call(api.url, 'GET', '/v1/voices');
    const metrics = await call(api.url, 'GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /aimake_http_request_duration_seconds_count\{method="GET",route="\/v1\/voices",status="200"\}/);

    const doc = await call(api.url, 'GET', '/openapi.json');
    assert.equal(doc.body.openapi, '3.1.0');
    for (const p of ['/v1/auth/register', '/v1/auth/login', '/v1/auth/logout', '/v1/me', '/v1/voices', '/readyz']) {
      assert.ok(doc.body.paths[p], `${p} documented`);
    }
    const registerRef = doc.body.paths['/v1/auth/register'].post.requestBody.content['application/json'].schema.$ref;
    assert.equal(registerRef, '#/components/schemas/RegisterRequest');
    const registerSchema = doc.body.components.schemas.RegisterRequest;
    assert.deepEqual(registerSchema.required.sort(), ['email', 'password']);
    assert.equal(registerSchema.properties.password.minLength, 8);
  });

  it('reports not ready, naming Temporal, when Temporal is unreachable', async () => {
    const api = await startTestApi({ TEMPORAL_ADDRESS: '127.0.0.1:1' });
    const res = await call(api.url, 'GET', '/readyz');
    assert.equal(res.status, 503);
    assertErrorShape(res.body, 'UNAVAILABLE');
    assert.equal(res.body.error.details.checks.postgres, 'ok');
    assert.match(res.body.error.details.checks.temporal, /^failed/);
    assert.match(res.body.error.message, /temporal/);
  });
});

describe('search attributes on a Temporal cluster', function () {
  this.timeout(60_000);

  it('are registered by the worker on a namespace that lacks them, once', async () => {
    const env = await testTemporal();
    const namespace = `fresh-${Date.now()}`;
    await env.connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    const added = await eventually(() => ensureSearchAttributes(env.connection.operatorService, namespace).catch(() => undefined), 20_000, 'the new namespace');
    assert.deepEqual([...added].sort(), ['AimakeAudioId', 'AimakeJobKind', 'AimakePodcastId', 'AimakeUserId']);
    assert.deepEqual(await ensureSearchAttributes(env.connection.operatorService, namespace), []);
    const listed = await env.connection.operatorService.listSearchAttributes({ namespace });
    assert.ok(Object.keys(listed.customAttributes ?? {}).includes('AimakePodcastId'));
  });
});
