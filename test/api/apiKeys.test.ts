import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { call, registerUser, startTestApi, type TestApi } from '../helpers/api';

function assertError(res: { status: number; body: any }, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(typeof res.body?.error?.message, 'string', `error shape expected, got ${JSON.stringify(res.body)}`);
  assert.equal(res.body.error.code, code);
}

async function teamUser(api: TestApi, label: string) {
  const u = await registerUser(api, label);
  await api.knex('users').where({ id: u.user.id }).update({ plan: 'team' });
  return u;
}

async function createKey(api: TestApi, token: string, body: Record<string, unknown> = {}) {
  const res = await call(api.url, 'POST', '/v1/api-keys', { token, body: { name: 'test key', ...body } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; key: string; prefix: string; scopes: string[]; rateLimit: number; expiresAt: string | null };
}

const withKey = (key: string) => ({ headers: { 'x-api-key': key } });

describe('API keys', function () {
  this.timeout(120_000);
  let api: TestApi;

  before(async () => {
    api = await startTestApi();
  });

  it('creates a key shown once, stores only its SHA-256 and prefix, lists without secrets, and revokes at once', async () => {
    const { token, user } = await teamUser(api, 'keys');
    const created = await call(api.url, 'POST', '/v1/api-keys', { token, body: { name: 'CI' } });
    assert.equal(created.status, 201);
    const k = created.body;
    assert.deepEqual(Object.keys(k).sort(), ['createdAt', 'expiresAt', 'id', 'key', 'lastUsedAt', 'name', 'prefix', 'rateLimit', 'scopes']);
    assert.equal(k.name, 'CI');
    assert.deepEqual(k.scopes, ['tts'], 'tts by default');
    assert.equal(k.rateLimit, 60, '60 requests a minute by default');
    assert.equal(k.expiresAt, null);
    assert.match(k.key, /^ak_[\w-]+$/);
    assert.ok(Buffer.from(k.key.slice(3), 'base64url').length >= 32, 'at least 32 random bytes');
    assert.equal(k.prefix, k.key.slice(0, 10));

    const row = await api.knex('api_keys').where({ id: k.id }).first();
    assert.ok(row);
    assert.equal(row.user_id, user.id);
    assert.equal(row.key_hash, crypto.createHash('sha256').update(k.key).digest('hex'));
    assert.equal(row.key_prefix, k.prefix);
    assert.ok(!JSON.stringify(row).includes(k.key.slice(10)), 'the secret part is stored nowhere');

    const list = await call(api.url, 'GET', '/v1/api-keys', { token });
    assert.equal(list.status, 200);
    assert.equal(list.body.total, 1);
    assert.equal(list.body.limit, 20);
    assert.equal(list.body.offset, 0);
    assert.equal(list.body.items[0].id, k.id);
    assert.equal(list.body.items[0].prefix, k.prefix);
    assert.ok(!('key' in list.body.items[0]));
    assert.ok(!JSON.stringify(list.body).includes(k.key.slice(10)), 'never shown again');

    // Both ways of sending a key work.
    const bearer = await call(api.url, 'GET', '/v1/me', { token: k.key });
    assert.equal(bearer.status, 200);
    assert.equal(bearer.body.user.id, user.id);
    assert.equal((await call(api.url, 'GET', '/v1/me', withKey(k.key))).status, 200);

    assert.equal((await call(api.url, 'DELETE', `/v1/api-keys/${k.id}`, { token })).status, 204);
    assertError(await call(api.url, 'GET', '/v1/me', withKey(k.key)), 401, 'UNAUTHENTICATED');
    assert.equal((await api.knex('api_keys').where({ id: k.id }).first())!.is_active, false);
    assert.equal((await call(api.url, 'GET', '/v1/api-keys', { token })).body.total, 0);
    assertError(await call(api.url, 'DELETE', `/v1/api-keys/${k.id}`, { token }), 404, 'NOT_FOUND');
  });

  it('validates the request: scopes, rate limit, expiry, name', async () => {
    const { token } = await teamUser(api, 'keyval');
    const bad = [
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['admin'] },
      { name: 'x', rateLimit: 0 },
      { name: 'x', rateLimit: 10_001 },
      { name: 'x', rateLimit: 1.5 },
      { name: 'x', expiresAt: new Date(Date.now() - 60_000).toISOString() },
      { name: 'x', expiresAt: 'tomorrow' },
      { name: '' },
      { scopes: ['tts'] },
    ];
    for (const body of bad) {
      assertError(await call(api.url, 'POST', '/v1/api-keys', { token, body }), 400, 'VALIDATION_FAILED');
    }
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const k = await createKey(api, token, { scopes: ['all', 'tts', 'tts'], rateLimit: 10_000, expiresAt });
    assert.deepEqual(k.scopes, ['tts', 'all'], 'each scope once, in a stable order');
    assert.equal(k.rateLimit, 10_000);
    assert.equal(k.expiresAt, expiresAt);
  });

  it('needs the team plan and a session: free and pro users get 403, a key cannot manage keys', async () => {
    for (const plan of ['free', 'pro'] as const) {
      const { token, user } = await registerUser(api, `plan-${plan}`);
      await api.knex('users').where({ id: user.id }).update({ plan });
      assertError(await call(api.url, 'POST', '/v1/api-keys', { token, body: { name: 'x' } }), 403, 'FORBIDDEN');
    }
    const { token, user } = await teamUser(api, 'minter');
    const k = await createKey(api, token, { scopes: ['all'] });
    assertError(await call(api.url, 'POST', '/v1/api-keys', { ...withKey(k.key), body: { name: 'child' } }), 403, 'FORBIDDEN');
    assertError(await call(api.url, 'GET', '/v1/api-keys', withKey(k.key)), 403, 'FORBIDDEN');
    assertError(await call(api.url, 'DELETE', `/v1/api-keys/${k.id}`, withKey(k.key)), 403, 'FORBIDDEN');
    assert.equal(
      await api
        .knex('api_keys')
        .where({ user_id: user.id })
        .count<{ n: number }[]>('* as n')
        .first()
        .then((r) => Number(r!.n)),
      1,
    );

    // Leaving the team plan stops the keys (403, not 401: the key is valid); the session can still revoke them.
    await api.knex('users').where({ id: user.id }).update({ plan: 'pro' });
    assertError(await call(api.url, 'GET', '/v1/me', withKey(k.key)), 403, 'FORBIDDEN');
    assert.equal((await call(api.url, 'GET', '/v1/api-keys', { token })).body.total, 1);
    assert.equal((await call(api.url, 'DELETE', `/v1/api-keys/${k.id}`, { token })).status, 204);
  });

  it('lets a key call only what its scopes allow; sessions and unscoped routes are unrestricted', async () => {
    const { token } = await teamUser(api, 'scopes');
    const tts = await createKey(api, token, { scopes: ['tts'] });
    const podcast = await createKey(api, token, { scopes: ['podcast'] });
    const all = await createKey(api, token, { scopes: ['all'] });

    // tts: audios pass authorization (400 is the body's validation, not a refusal), podcasts do not.
    assertError(await call(api.url, 'POST', '/v1/audios', { ...withKey(tts.key), body: {} }), 400, 'VALIDATION_FAILED');
    assert.equal((await call(api.url, 'GET', '/v1/audios', withKey(tts.key))).status, 200);
    assertError(await call(api.url, 'GET', '/v1/podcasts', withKey(tts.key)), 403, 'FORBIDDEN');
    assertError(await call(api.url, 'POST', '/v1/podcasts', { ...withKey(tts.key), body: {} }), 403, 'FORBIDDEN');
    assertError(await call(api.url, 'GET', `/v1/podcasts/${crypto.randomUUID()}/job`, withKey(tts.key)), 403, 'FORBIDDEN');

    assert.equal((await call(api.url, 'GET', '/v1/podcasts', withKey(podcast.key))).status, 200);
    assertError(await call(api.url, 'POST', '/v1/podcasts', { ...withKey(podcast.key), body: {} }), 400, 'VALIDATION_FAILED');
    assertError(await call(api.url, 'GET', '/v1/audios', withKey(podcast.key)), 403, 'FORBIDDEN');

    for (const path of ['/v1/audios', '/v1/podcasts', '/v1/me', '/v1/voices']) {
      assert.equal((await call(api.url, 'GET', path, withKey(all.key))).status, 200, path);
      assert.equal((await call(api.url, 'GET', path, { token })).status, 200, path);
    }
    for (const key of [tts.key, podcast.key]) assert.equal((await call(api.url, 'GET', '/v1/me', withKey(key))).status, 200);

    // Every audios, podcasts and uploads operation declares its scope, so a route added later cannot forget it.
    const doc = (await call(api.url, 'GET', '/openapi.json')).body;
    for (const [path, ops] of Object.entries<Record<string, any>>(doc.paths)) {
      // Uploads exist only to make podcasts from; the feed lists podcasts.
      const expected = path.startsWith('/v1/audios')
        ? 'tts'
        : path.startsWith('/v1/podcasts') || path.startsWith('/v1/uploads') || path === '/v1/feed'
          ? 'podcast'
          : undefined;
      for (const [method, op] of Object.entries(ops)) assert.equal(op['x-api-key-scope'], expected, `${method} ${path}`);
    }
  });

  it('refuses expired and revoked keys, keys of deactivated users, and forged keys with 401', async () => {
    const { token, user } = await teamUser(api, 'expiry');
    const k = await createKey(api, token, { expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    assert.equal((await call(api.url, 'GET', '/v1/me', withKey(k.key))).status, 200);
    await api
      .knex('api_keys')
      .where({ id: k.id })
      .update({ expires_at: new Date(Date.now() - 1000) });
    assertError(await call(api.url, 'GET', '/v1/me', withKey(k.key)), 401, 'UNAUTHENTICATED');

    const other = await createKey(api, token);
    // Same prefix, wrong secret: the hash decides.
    const forged = other.key.slice(0, 10) + 'A'.repeat(other.key.length - 10);
    assertError(await call(api.url, 'GET', '/v1/me', withKey(forged)), 401, 'UNAUTHENTICATED');
    assertError(await call(api.url, 'GET', '/v1/me', { token: 'ak_short' }), 401, 'UNAUTHENTICATED');

    await api.knex('users').where({ id: user.id }).update({ is_active: false });
    assertError(await call(api.url, 'GET', '/v1/me', withKey(other.key)), 401, 'UNAUTHENTICATED');
  });

  it("answers 404 when deleting another user's key, which keeps working", async () => {
    const owner = await teamUser(api, 'owner');
    const intruder = await teamUser(api, 'intruder');
    const k = await createKey(api, owner.token);
    assertError(await call(api.url, 'DELETE', `/v1/api-keys/${k.id}`, { token: intruder.token }), 404, 'NOT_FOUND');
    assertError(await call(api.url, 'DELETE', '/v1/api-keys/not-a-uuid', { token: intruder.token }), 400, 'VALIDATION_FAILED');
    assert.equal((await call(api.url, 'GET', '/v1/api-keys', { token: intruder.token })).body.total, 0);
    assert.equal((await call(api.url, 'GET', '/v1/me', withKey(k.key))).status, 200);
  });

  it('limits a key to its requests per minute, counted across two API processes, with Retry-After', async () => {
    const other = await startTestApi();
    assert.notEqual(other.url, api.url);
    const { token } = await teamUser(api, 'limited');
    const k = await createKey(api, token, { rateLimit: 3 });
    const spare = await createKey(api, token, { rateLimit: 3 });

    const remaining: string[] = [];
    for (const base of [api.url, other.url, api.url]) {
      const res = await call(base, 'GET', '/v1/me', withKey(k.key));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('ratelimit-limit'), '3');
      remaining.push(res.headers.get('ratelimit-remaining')!);
    }
    assert.deepEqual(remaining, ['2', '1', '0'], 'both processes count into one window');

    for (const base of [other.url, api.url]) {
      const res = await call(base, 'GET', '/v1/me', withKey(k.key));
      assertError(res, 429, 'RATE_LIMITED');
      const retryAfter = Number(res.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      assert.equal(res.body.error.details.retryAfter, retryAfter);
      assert.equal(res.headers.get('ratelimit-remaining'), '0');
    }
    // Another key, and the user's session, have their own budgets.
    assert.equal((await call(other.url, 'GET', '/v1/me', withKey(spare.key))).status, 200);
    assert.equal((await call(other.url, 'GET', '/v1/me', { token })).status, 200);
    assert.equal((await call(other.url, 'GET', '/v1/me', { token })).headers.get('ratelimit-limit'), null, 'sessions carry no key limit');
  });

  it('limits generation requests per user, for sessions and keys alike', async () => {
    const limited = await startTestApi({ USER_CREATE_LIMIT_PER_MIN: '3' });
    const { token } = await teamUser(limited, 'creates');
    const k = await createKey(limited, token, { scopes: ['all'] });

    // Counted before the body is read: invalid requests use up the budget too, and both endpoints share it.
    assertError(await call(limited.url, 'POST', '/v1/audios', { token, body: {} }), 400, 'VALIDATION_FAILED');
    assertError(await call(limited.url, 'POST', '/v1/podcasts', { ...withKey(k.key), body: {} }), 400, 'VALIDATION_FAILED');
    assertError(await call(limited.url, 'POST', '/v1/audios', { ...withKey(k.key), body: {} }), 400, 'VALIDATION_FAILED');
    for (const opts of [{ token }, withKey(k.key)]) {
      const res = await call(limited.url, 'POST', '/v1/podcasts', { ...opts, body: {} });
      assertError(res, 429, 'RATE_LIMITED');
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
    }
    // Reading is not limited by it, nor is another user.
    assert.equal((await call(limited.url, 'GET', '/v1/audios', { token })).status, 200);
    const other = await registerUser(limited, 'creates-other');
    assertError(await call(limited.url, 'POST', '/v1/audios', { token: other.token, body: {} }), 400, 'VALIDATION_FAILED');
  });

  it('records last_used_at once, and does not rewrite it on every request', async () => {
    const { token } = await teamUser(api, 'lastused');
    const k = await createKey(api, token);
    const row = () =>
      api
        .knex('api_keys')
        .where({ id: k.id })
        .first<{ last_used_at: Date | null; xmin: string } | undefined>('last_used_at', api.knex.raw('xmin::text AS xmin'));
    assert.equal((await row())!.last_used_at, null);

    assert.equal((await call(api.url, 'GET', '/v1/me', withKey(k.key))).status, 200);
    const first = (await row())!;
    assert.ok(first.last_used_at instanceof Date && Date.now() - first.last_used_at.getTime() < 60_000);
    for (let i = 0; i < 3; i++) assert.equal((await call(api.url, 'GET', '/v1/me', withKey(k.key))).status, 200);
    const later = (await row())!;
    assert.equal(later.xmin, first.xmin, 'the row was not written again (same tuple version)');
    assert.equal(later.last_used_at!.getTime(), first.last_used_at.getTime());

    // Once it is over a minute old, the next request refreshes it.
    await api
      .knex('api_keys')
      .where({ id: k.id })
      .update({ last_used_at: new Date(Date.now() - 120_000) });
    await call(api.url, 'GET', '/v1/me', withKey(k.key));
    assert.ok(Date.now() - (await row())!.last_used_at!.getTime() < 60_000);
    const listed = await call(api.url, 'GET', '/v1/api-keys', { token });
    assert.ok(listed.body.items[0].lastUsedAt);
  });
});
