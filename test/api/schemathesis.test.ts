import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { call, registerUser, type TestApi } from '../helpers/api';
import { startTestStack } from '../helpers/stack';

const ROOT = path.resolve(__dirname, '../..');
const SCHEMATHESIS = path.join(ROOT, process.env.TOOLS_DIR ?? '.tools', 'bin', 'schemathesis');
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
  'response_headers_conformance',
  'negative_data_rejection',
  'positive_data_acceptance',
  'missing_required_header',
  'unsupported_method',
  'allow_header_conformance',
];

/**
 * The OpenAPI document tells the truth: Schemathesis (scripts/toolchain.sh installs it) generates
 * requests from /openapi.json, valid and invalid, as a signed-in user, and checks every answer
 * against the document: no 5xx, documented statuses, content types and bodies, invalid input
 * refused, valid input accepted, 405 with Allow for other methods. A fixed seed and a small budget.
 */
describe('OpenAPI document against Schemathesis', function () {
  this.timeout(400_000);
  let api: TestApi;

  before(async () => {
    // Hundreds of generated requests a minute; a configured Stripe secret so the webhook answers 400, not 503.
    // A worker too: Schemathesis follows GET /v1/voices to the voices' previews, which a worker makes on first use.
    api = await startTestStack({ USER_CREATE_LIMIT_PER_MIN: '10000', STRIPE_WEBHOOK_SECRET: 'whsec_schemathesis' });
  });

  it('finds no failure', async () => {
    const { token, user } = await registerUser(api, 'schemathesis');
    // A paying user: premium voices and a key limit high enough for the run.
    await api.knex('users').where({ id: user.id }).update({ plan: 'team', quota_limit: 72_000 });
    // An API key with every scope: the same user, and fuzzing POST /v1/auth/logout cannot end its session.
    const key = await call(api.url, 'POST', '/v1/api-keys', { token, body: { name: 'schemathesis', scopes: ['all'], rateLimit: 10_000 } });
    assert.equal(key.status, 201);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aimake-schemathesis-'));
    const reportPath = path.join(dir, 'report.json');
    const args = ['--config-file', path.join(__dirname, 'schemathesis.toml'), 'run', `${api.url}/openapi.json`, '--url', api.url];
    args.push('-H', `Authorization: Bearer ${key.body.key}`, '--checks', CHECKS.join(','));
    args.push('--seed', '1', '--max-examples', '20', '--max-redirects', '0', '--workers', '2', '--generation-database', 'none');
    args.push('--no-color', '--report', 'json', '--report-json-path', reportPath);
    const result = await promisify(execFile)(SCHEMATHESIS, args, { cwd: dir, maxBuffer: 64 * 1024 * 1024 }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, stdout: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
    );
    fs.rmSync(dir, { recursive: true, force: true });
    const failures = result.stdout.slice(result.stdout.indexOf('FAILURES'), result.stdout.indexOf('SUMMARY'));
    assert.equal(result.code, 0, `Schemathesis failed:\n${failures || result.stdout.slice(-5000)}`);
    assert.match(result.stdout, /Tested: \d+/);
  });
});
