import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { call } from '../helpers/api';
import { startTestApi, type TestApi } from '../helpers/api';

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
    assert.deepEqual(Object.keys(spec.components.securitySchemes).sort(), ['apiKey', 'bearer']);
    assert.deepEqual(spec.components.securitySchemes.apiKey, { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key (ak_…)' });
    assert.deepEqual(spec.paths['/v1/podcasts'].post.security, [{ bearer: [] }, { apiKey: [] }]);
    assert.deepEqual(spec.paths['/v1/auth/login'].post.security, []);
    assert.equal(spec.paths['/v1/podcasts'].post.requestBody.content['application/json'].schema.$ref, '#/components/schemas/CreatePodcastRequest');
    assert.ok(spec.servers.length > 0);
  });
});
