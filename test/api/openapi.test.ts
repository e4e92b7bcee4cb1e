import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { call, registerUser, startTestApi, type TestApi } from '../helpers/api';

const ROOT = path.resolve(__dirname, '../..');

/**
 * The served /openapi.json is what client generators and API tools read: it must pass Redocly's
 * recommended ruleset, name every operation, and say how to authenticate.
 */
describe('OpenAPI document', function () {
  let api: TestApi;
  let spec: any;
  let dir: string;

  before(async function () {
    api = await startTestApi();
    const res = await call(api.url, 'GET', '/openapi.json');
    assert.equal(res.status, 200);
    spec = res.body;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aimake-openapi-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('passes redocly lint with the recommended ruleset, offline', async function () {
    this.timeout(120_000);
    const file = path.join(dir, 'openapi.json');
    fs.writeFileSync(file, JSON.stringify(spec));
    // A local config: nothing to fetch (no remote rules or plugins).
    const config = path.join(dir, 'redocly.yaml');
    fs.writeFileSync(config, 'extends:\n  - recommended\n');
    const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' };
    const result = await promisify(execFile)(path.join(ROOT, 'node_modules/.bin/redocly'), ['lint', file, '--config', config, '--format', 'json'], {
      env,
      maxBuffer: 32 * 1024 * 1024,
    }).catch((err: { stdout: string; stderr: string }) => err);
    const report = JSON.parse(result.stdout) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; severity: string; message: string }[];
    };
    const errors = report.problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message}`);
    assert.deepEqual(errors, []);
    assert.equal(report.totals.errors, 0);
  });

  it('names every operation uniquely and declares how each is authenticated', function () {
    const ids: string[] = [];
    for (const [p, ops] of Object.entries<Record<string, any>>(spec.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) {
        assert.match(op.operationId ?? '', /^[a-z][A-Za-z0-9]+$/, `${method} ${p} has no camelCase operationId`);
        ids.push(op.operationId);
        assert.ok(Array.isArray(op.security), `${method} ${p} declares no security`);
        for (const [status, r] of Object.entries<any>(op.responses)) {
          if (status === 'default' || Number(status) >= 400)
            assert.deepEqual(r.content, { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } }, `${method} ${p} ${status}`);
        }
      }
    }
    assert.equal(new Set(ids).size, ids.length, 'duplicate operationIds');
    assert.ok(ids.includes('createPodcast') && ids.includes('getPodcastJob') && ids.includes('listVoices'));
    assert.deepEqual(Object.keys(spec.components.securitySchemes).sort(), ['apiKey', 'bearer', 'cookie']);
    assert.deepEqual(spec.components.securitySchemes.apiKey, { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key (ak_…)' });
    // The web studio's session cookie (src/api/studio.ts) is the third way in.
    assert.equal(spec.components.securitySchemes.cookie.in, 'cookie');
    assert.deepEqual(spec.paths['/v1/podcasts'].post.security, [{ bearer: [] }, { apiKey: [] }, { cookie: [] }]);
    assert.deepEqual(spec.paths['/v1/auth/login'].post.security, []);
    assert.equal(spec.paths['/v1/podcasts'].post.requestBody.content['application/json'].schema.$ref, '#/components/schemas/CreatePodcastRequest');
    assert.ok(spec.servers.length > 0);
  });

  it('serves a docs page at /docs that loads only our own assets', async function () {
    const page = await fetch(`${api.url}/docs`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /connect-src 'self'(;|$)/);
    const html = await page.text();
    // No inline script: every <script> either loads a local file or carries only data attributes.
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length >= 2);
    for (const [, , body] of scripts) assert.equal(body!.trim(), '');
    const refs = [...html.matchAll(/(?:src|href|data-url)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(refs.includes('/openapi.json'));
    for (const ref of refs) assert.match(ref, /^\/[^/]/, `${ref} is not a local asset`);
    assert.doesNotMatch(html, /https?:\/\//);
    const script = refs.find((r) => r.endsWith('.js'))!;
    const asset = await fetch(`${api.url}${script}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /javascript/);
    const code = await asset.text();
    assert.ok(code.length > 100_000, 'the renderer bundle');
    assert.match(code, /api-reference/);
  });

  it('answers what the document promises where it used to differ', async function () {
    const { token } = await registerUser(api, 'openapi');
    // A method the path does not have: 405 with Allow, in the error shape; a literal path is not another's parameter.
    const put = await call(api.url, 'PUT', '/v1/voices', { token, body: {} });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET');
    assert.equal(put.body.error.code, 'METHOD_NOT_ALLOWED');
    const del = await call(api.url, 'DELETE', '/v1/webhooks/stripe', { token });
    assert.equal(del.status, 405);
    assert.equal(del.headers.get('allow'), 'POST');
    assert.equal((await call(api.url, 'PUT', '/v1/no-such-thing', { token })).status, 404);
    // Year 0000 does not exist: refused, not a 500.
    assert.equal((await call(api.url, 'GET', '/v1/usage?month=0000-01', { token })).status, 400);
    assert.equal((await call(api.url, 'GET', '/v1/usage?month=0001-01', { token })).status, 200);
    // An empty offset is not 0.
    assert.equal((await call(api.url, 'GET', '/v1/podcasts?offset=', { token })).status, 400);
    assert.equal((await call(api.url, 'GET', '/v1/podcasts?offset=0&limit=5', { token })).status, 200);
    // Blank texts are refused, and the document says so with a pattern.
    const blank = await call(api.url, 'POST', '/v1/api-keys', { token, body: { name: ' \u000b' } });
    assert.equal(blank.status, 400);
    assert.ok(new RegExp(spec.components.schemas.CreateApiKeyRequest.properties.name.pattern, 'u').test('x'));
    assert.ok(!new RegExp(spec.components.schemas.CreateApiKeyRequest.properties.name.pattern, 'u').test(' \u000b\u3000'));
    // A sign-in with the longest email the API takes is an ordinary 401, not a 500.
    assert.equal((await call(api.url, 'POST', '/v1/auth/login', { body: { email: '0'.repeat(255), password: 'whatever1' } })).status, 401);
    // A URL too long for Node's parser still gets the error shape and a Content-Type.
    const long = await fetch(`${api.url}/v1/voices?x=${'a'.repeat(40_000)}`);
    assert.equal(long.status, 400);
    assert.match(long.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(((await long.json()) as { error: { code: string } }).error.code, 'VALIDATION_FAILED');
  });
});
