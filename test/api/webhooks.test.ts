import assert from 'node:assert/strict';
import { call, registerUser, startTestApi, type TestApi } from '../helpers/api';

function assertError(res: { status: number; body: any }, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(typeof res.body?.error?.message, 'string', `error shape expected, got ${JSON.stringify(res.body)}`);
  assert.equal(res.body.error.code, code);
}

const ALL_EVENTS = ['podcast.completed', 'podcast.failed', 'audio.completed', 'audio.failed'];
// A public address: creation resolves nothing for a literal, and nothing is ever sent in these tests.
const PUBLIC_URL = 'https://93.184.215.14/hooks/aimake';

describe('webhooks API', function () {
  this.timeout(60_000);
  let api: TestApi;

  before(async () => {
    api = await startTestApi();
  });

  const create = (token: string, body: unknown) => call(api.url, 'POST', '/v1/webhooks', { token, body });

  it('creates an endpoint for every event by default, shows the secret once, and lists it without', async () => {
    const { token, user } = await registerUser(api, 'hooks');
    const res = await create(token, { url: PUBLIC_URL });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body).sort(), ['createdAt', 'events', 'id', 'secret', 'url']);
    assert.equal(res.body.url, PUBLIC_URL);
    assert.deepEqual(res.body.events, ALL_EVENTS);
    assert.match(res.body.secret, /^whsec_[A-Za-z0-9_-]{40,}$/);
    assert.ok(!Number.isNaN(Date.parse(res.body.createdAt)));

    const other = await create(token, { url: `${PUBLIC_URL}/2`, events: ['audio.failed', 'podcast.completed', 'audio.failed'] });
    assert.equal(other.status, 201, JSON.stringify(other.body));
    assert.deepEqual(other.body.events, ['podcast.completed', 'audio.failed'], 'each once, in a stable order');
    assert.notEqual(other.body.secret, res.body.secret, 'every endpoint has a secret of its own');

    const list = await call(api.url, 'GET', '/v1/webhooks', { token });
    assert.equal(list.status, 200);
    assert.equal(list.body.total, 2);
    assert.deepEqual(
      list.body.items.map((w: any) => w.id),
      [other.body.id, res.body.id],
      'newest first',
    );
    for (const w of list.body.items) assert.deepEqual(Object.keys(w).sort(), ['createdAt', 'events', 'id', 'url'], 'no secret in the list');
    assert.ok(!JSON.stringify(list.body).includes(res.body.secret));

    const deliveries = await call(api.url, 'GET', `/v1/webhooks/${res.body.id}/deliveries`, { token });
    assert.equal(deliveries.status, 200);
    assert.deepEqual(deliveries.body.items, []);

    // Stored so deliveries can sign with it.
    const row = await api.knex('webhook_endpoints').where({ id: res.body.id }).first();
    assert.equal(row?.user_id, user.id);
    assert.equal(row?.secret, res.body.secret);
  });

  it('refuses loopback, private, link-local and metadata targets, and malformed bodies, in the error shape', async () => {
    const { token } = await registerUser(api, 'hooks-bad');
    const refused = [
      'http://10.0.0.1/hook',
      'http://169.254.169.254/latest/meta-data/',
      'http://192.168.1.20:8080/',
      'http://172.16.0.1/',
      'http://100.64.0.1/',
      'http://[::ffff:10.0.0.1]/',
      'http://[fd00::1]/',
      'http://[fe80::1]/',
      'http://0x7f.1/',
      'http://127.0.0.1:8080/',
      'http://localhost:3000/hook',
      'http://hooks.localhost/',
      'http://0.0.0.0/',
    ];
    for (const url of refused) {
      const res = await create(token, { url });
      assertError(res, 400, 'VALIDATION_FAILED');
      assert.equal(res.body.error.details.fields[0].field, 'body.url', url);
      assert.match(res.body.error.message, /not allowed/, url);
    }
    const bad: unknown[] = [
      {},
      { url: '' },
      { url: 'not a url' },
      { url: 'ftp://93.184.215.14/' },
      { url: 'https://user:pass@93.184.215.14/' },
      { url: `${PUBLIC_URL}/${'x'.repeat(2048)}` },
      { url: PUBLIC_URL, events: [] },
      { url: PUBLIC_URL, events: ['podcast.started'] },
      { url: PUBLIC_URL, events: 'podcast.completed' },
      { url: PUBLIC_URL, secret: 'whsec_mine' },
    ];
    for (const body of bad) assertError(await create(token, body), 400, 'VALIDATION_FAILED');
    assertError(
      await call(api.url, 'POST', '/v1/webhooks', { token, rawBody: '{"url":', headers: { 'content-type': 'application/json' } }),
      400,
      'VALIDATION_FAILED',
    );
    assert.equal((await call(api.url, 'GET', '/v1/webhooks', { token })).body.total, 0, 'nothing refused was stored');
    assertError(await call(api.url, 'POST', '/v1/webhooks', { body: { url: PUBLIC_URL } }), 401, 'UNAUTHENTICATED');
    assertError(await call(api.url, 'GET', '/v1/webhooks'), 401, 'UNAUTHENTICATED');
  });

  it('lets WEBHOOK_ALLOW_LOOPBACK open loopback only, never private or metadata addresses', async () => {
    const loose = await startTestApi({ WEBHOOK_ALLOW_LOOPBACK: 'true' });
    const { token } = await registerUser(loose, 'hooks-loopback');
    assert.equal((await call(loose.url, 'POST', '/v1/webhooks', { token, body: { url: 'http://127.0.0.1:9/hook' } })).status, 201);
    assert.equal((await call(loose.url, 'POST', '/v1/webhooks', { token, body: { url: 'http://localhost:9/hook' } })).status, 201);
    for (const url of ['http://10.0.0.1/', 'http://169.254.169.254/', 'http://[::ffff:169.254.169.254]/']) {
      assertError(await call(loose.url, 'POST', '/v1/webhooks', { token, body: { url } }), 400, 'VALIDATION_FAILED');
    }
  });

  it('holds at most 10 endpoints per user, also when they are created at once', async () => {
    const { token } = await registerUser(api, 'hooks-limit');
    const results = await Promise.all(Array.from({ length: 13 }, (_, i) => create(token, { url: `${PUBLIC_URL}/${i}` })));
    assert.equal(results.filter((r) => r.status === 201).length, 10);
    for (const r of results.filter((x) => x.status !== 201)) assertError(r, 409, 'CONFLICT');
    assert.equal((await call(api.url, 'GET', '/v1/webhooks', { token })).body.total, 10);

    // Deleting one makes room for one.
    const first = results.find((r) => r.status === 201)!.body.id;
    assert.equal((await call(api.url, 'DELETE', `/v1/webhooks/${first}`, { token })).status, 204);
    assert.equal((await create(token, { url: `${PUBLIC_URL}/again` })).status, 201);
    assertError(await create(token, { url: `${PUBLIC_URL}/over` }), 409, 'CONFLICT');
  });

  it('deletes an endpoint, and another user can neither see, read the deliveries of, nor delete it', async () => {
    const alice = await registerUser(api, 'hooks-alice');
    const bob = await registerUser(api, 'hooks-bob');
    const hook = (await create(alice.token, { url: PUBLIC_URL })).body;

    assert.equal((await call(api.url, 'GET', '/v1/webhooks', { token: bob.token })).body.total, 0);
    assertError(await call(api.url, 'GET', `/v1/webhooks/${hook.id}/deliveries`, { token: bob.token }), 404, 'NOT_FOUND');
    assertError(await call(api.url, 'DELETE', `/v1/webhooks/${hook.id}`, { token: bob.token }), 404, 'NOT_FOUND');
    assert.equal((await call(api.url, 'GET', '/v1/webhooks', { token: alice.token })).body.total, 1, "bob's attempt changed nothing");

    assert.equal((await call(api.url, 'DELETE', `/v1/webhooks/${hook.id}`, { token: alice.token })).status, 204);
    assert.equal((await call(api.url, 'GET', '/v1/webhooks', { token: alice.token })).body.total, 0);
    assertError(await call(api.url, 'DELETE', `/v1/webhooks/${hook.id}`, { token: alice.token }), 404, 'NOT_FOUND');
    assertError(await call(api.url, 'GET', `/v1/webhooks/${hook.id}/deliveries`, { token: alice.token }), 404, 'NOT_FOUND');
    assertError(await call(api.url, 'DELETE', '/v1/webhooks/not-a-uuid', { token: alice.token }), 400, 'VALIDATION_FAILED');
  });

  it('lets an API key manage webhooks only with the all scope', async () => {
    const { token, user } = await registerUser(api, 'hooks-keys');
    await api.knex('users').where({ id: user.id }).update({ plan: 'team' });
    const key = async (scopes: string[]) => (await call(api.url, 'POST', '/v1/api-keys', { token, body: { name: scopes.join(), scopes } })).body.key as string;
    const narrow = await key(['tts', 'podcast']);
    const all = await key(['all']);
    assertError(await call(api.url, 'POST', '/v1/webhooks', { headers: { 'x-api-key': narrow }, body: { url: PUBLIC_URL } }), 403, 'FORBIDDEN');
    assertError(await call(api.url, 'GET', '/v1/webhooks', { headers: { 'x-api-key': narrow } }), 403, 'FORBIDDEN');
    const made = await call(api.url, 'POST', '/v1/webhooks', { headers: { 'x-api-key': all }, body: { url: PUBLIC_URL } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal((await call(api.url, 'GET', '/v1/webhooks', { token })).body.items[0].id, made.body.id, "the key's user owns it");
  });

  it('documents the routes in /openapi.json', async () => {
    const doc = (await call(api.url, 'GET', '/openapi.json')).body;
    assert.deepEqual(Object.keys(doc.paths['/v1/webhooks']).sort(), ['get', 'post']);
    assert.ok(doc.paths['/v1/webhooks/{id}'].delete);
    assert.ok(doc.paths['/v1/webhooks/{id}/deliveries'].get);
    const created = doc.paths['/v1/webhooks'].post.responses['201'].content['application/json'].schema;
    assert.deepEqual([...created.required].sort(), ['createdAt', 'events', 'id', 'secret', 'url']);
  });
});
