import assert from 'node:assert/strict';
import { call, registerUser, startTestApi, type TestApi } from '../helpers/api';

function assertError(res: { status: number; body: any }, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(typeof res.body?.error?.message, 'string', `error shape expected, got ${JSON.stringify(res.body)}`);
  assert.equal(res.body.error.code, code);
}

describe('pronunciation dictionary API', function () {
  this.timeout(60_000);
  let api: TestApi;

  before(async () => {
    api = await startTestApi();
  });

  const get = (token: string) => call(api.url, 'GET', '/v1/pronunciations', { token });
  const put = (token: string, body: unknown) => call(api.url, 'PUT', '/v1/pronunciations', { token, body });

  it('starts empty, saves entries trimmed and in the given order, and replaces them whole', async () => {
    const { token } = await registerUser(api, 'dict');
    assert.deepEqual((await get(token)).body, { items: [] });

    const saved = await put(token, {
      items: [
        { term: ' Kubernetes ', say: 'koo-ber-net-eez ' },
        { term: 'AI', say: 'A.I.' },
        { term: '声音', say: 'shēngyīn' },
      ],
    });
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    const expected = [
      { term: 'Kubernetes', say: 'koo-ber-net-eez' },
      { term: 'AI', say: 'A.I.' },
      { term: '声音', say: 'shēngyīn' },
    ];
    assert.deepEqual(saved.body, { items: expected });
    assert.deepEqual((await get(token)).body, { items: expected });

    // Replaces, never merges: entries left out are gone.
    assert.equal((await put(token, { items: [{ term: 'SQL', say: 'sequel' }] })).status, 200);
    assert.deepEqual((await get(token)).body, { items: [{ term: 'SQL', say: 'sequel' }] });
    assert.deepEqual((await put(token, { items: [] })).body, { items: [] });
    assert.deepEqual((await get(token)).body, { items: [] });
  });

  it('holds 500 entries and refuses 501', async () => {
    const { token } = await registerUser(api, 'dict-size');
    const items = (n: number) => Array.from({ length: n }, (_, i) => ({ term: `term${i}`, say: `say ${i}` }));
    const full = await put(token, { items: items(500) });
    assert.equal(full.status, 200);
    assert.equal((await get(token)).body.items.length, 500);
    assertError(await put(token, { items: items(501) }), 400, 'VALIDATION_FAILED');
    assert.equal((await get(token)).body.items.length, 500, 'a refused dictionary changes nothing');
  });

  it('refuses duplicate terms, naming the repeated item, and changes nothing', async () => {
    const { token } = await registerUser(api, 'dict-dup');
    await put(token, { items: [{ term: 'keep', say: 'me' }] });
    const res = await put(token, {
      items: [
        { term: 'AI', say: 'A.I.' },
        { term: 'ai', say: 'eye' }, // another term: matching is case-sensitive
        { term: ' AI', say: 'again' },
      ],
    });
    assertError(res, 400, 'VALIDATION_FAILED');
    assert.deepEqual(
      res.body.error.details.fields.map((f: { field: string }) => f.field),
      ['body.items.2.term'],
    );
    assert.deepEqual((await get(token)).body, { items: [{ term: 'keep', say: 'me' }] });
  });

  it('validates every entry and the body, always in the error shape', async () => {
    const { token } = await registerUser(api, 'dict-bad');
    const bad: Array<[unknown, string]> = [
      [{ items: [{ term: '', say: 'x' }] }, 'body.items.0.term'],
      [{ items: [{ term: '   ', say: 'x' }] }, 'body.items.0.term'],
      [{ items: [{ term: 't'.repeat(101), say: 'x' }] }, 'body.items.0.term'],
      [{ items: [{ term: 'ok', say: '' }] }, 'body.items.0.say'],
      [{ items: [{ term: 'ok', say: 's'.repeat(201) }] }, 'body.items.0.say'],
      [{ items: [{ term: 'two\nlines', say: 'x' }] }, 'body.items.0.term'],
      [{ items: [{ term: 'ok', say: 'x', extra: 1 }] }, 'body.items.0'],
      [{ items: [{ term: 'ok' }] }, 'body.items.0.say'],
      [{ items: [{ term: 5, say: 'x' }] }, 'body.items.0.term'],
      [{ items: 'AI=A.I.' }, 'body.items'],
      [{}, 'body.items'],
    ];
    for (const [body, field] of bad) {
      const res = await put(token, body);
      assertError(res, 400, 'VALIDATION_FAILED');
      assert.ok(
        res.body.error.details.fields.some((f: { field: string }) => f.field === field),
        `${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(res.body.error.details)}`,
      );
    }
    assert.equal((await put(token, { items: [{ term: 't'.repeat(100), say: 's'.repeat(200) }] })).status, 200, 'the limits themselves are allowed');
    assertError(await call(api.url, 'PUT', '/v1/pronunciations', { token, rawBody: '{"items": [' }), 400, 'VALIDATION_FAILED');
  });

  it("is each user's own: nobody sees or changes another's dictionary", async () => {
    const a = await registerUser(api, 'dict-a');
    const b = await registerUser(api, 'dict-b');
    await put(a.token, { items: [{ term: 'Acme', say: 'ack-mee' }] });
    assert.deepEqual((await get(b.token)).body, { items: [] });
    await put(b.token, { items: [{ term: 'Acme', say: 'a-c-m-e' }] });
    assert.deepEqual((await get(a.token)).body, { items: [{ term: 'Acme', say: 'ack-mee' }] });
    assert.deepEqual((await get(b.token)).body, { items: [{ term: 'Acme', say: 'a-c-m-e' }] });
    assertError(await call(api.url, 'GET', '/v1/pronunciations'), 401, 'UNAUTHENTICATED');
    assertError(await call(api.url, 'PUT', '/v1/pronunciations', { body: { items: [] } }), 401, 'UNAUTHENTICATED');
  });

  it('applies concurrent replacements one after another: one of them wins whole', async () => {
    const { token } = await registerUser(api, 'dict-race');
    const versions = Array.from({ length: 6 }, (_, v) => ({
      items: Array.from({ length: 20 }, (_, i) => ({ term: `word${i}`, say: `version ${v}` })),
    }));
    const answers = await Promise.all(versions.map((body) => put(token, body)));
    assert.deepEqual(
      answers.map((r) => r.status),
      versions.map(() => 200),
    );
    const final = (await get(token)).body;
    assert.ok(
      versions.some((v) => JSON.stringify(v) === JSON.stringify(final)),
      JSON.stringify(final).slice(0, 200),
    );
  });

  it('is documented in /openapi.json', async () => {
    const doc = (await call(api.url, 'GET', '/openapi.json')).body;
    const path = doc.paths['/v1/pronunciations'];
    assert.ok(path?.get && path?.put, 'GET and PUT documented');
    const ref: string = path.put.requestBody.content['application/json'].schema.$ref;
    assert.equal(doc.components.schemas[ref.replace('#/components/schemas/', '')].properties.items.maxItems, 500);
  });
});
