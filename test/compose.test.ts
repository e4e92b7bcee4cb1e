import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { temporalCliPath } from '../src/temporal/devServer';

const ROOT = path.resolve(__dirname, '..');

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  container_name?: string;
  ports?: unknown[];
  healthcheck?: { test: string[] | string };
  depends_on?: Record<string, { condition: string }>;
}

/** The versions the tests run on: the Temporal CLI's dev server says them (`Server 1.32.0, UI 2.54.1`). */
function testedTemporalVersions() {
  const out = spawnSync(temporalCliPath(path.join(ROOT, '.tools')), ['--version'], { encoding: 'utf8' }).stdout;
  const m = /Server ([\d.]+), UI ([\d.]+)/.exec(out);
  assert.ok(m, `unexpected temporal --version: ${out}`);
  return { server: m[1]!, ui: m[2]! };
}

describe('the production shape (docker-compose.yml and Dockerfile)', () => {
  let services: Record<string, ComposeService>;

  before(function () {
    // Debian's docker-compose (.ci/run installs it); its python3-yaml reads the normalised output.
    if (spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status !== 0) this.skip();
    const config = spawnSync('docker-compose', ['config'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(config.status, 0, `docker-compose config failed:\n${config.stderr}`);
    const json = spawnSync('python3', ['-c', 'import sys, yaml, json; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], {
      input: config.stdout,
      encoding: 'utf8',
    });
    assert.equal(json.status, 0, json.stderr);
    services = (JSON.parse(json.stdout) as { services: Record<string, ComposeService> }).services;
  });

  it('runs the Temporal server, its schema tools and the UI at the versions the tests run on, with no auto-setup', () => {
    const tested = testedTemporalVersions();
    const images = Object.values(services).map((s) => s.image ?? '');
    assert.ok(!images.some((i) => i.includes('auto-setup')), 'temporalio/auto-setup is deprecated');
    assert.equal(services.temporal?.image, `temporalio/server:${tested.server}`);
    assert.equal(services['temporal-ui']?.image, `temporalio/ui:${tested.ui}`);
    assert.equal(services['temporal-schema']?.image, `temporalio/admin-tools:${tested.server}`);
    const schema = JSON.stringify(services['temporal-schema']?.command);
    for (const db of ['temporal', 'temporal_visibility']) assert.match(schema, new RegExp(`sql ${db} update-schema -d /etc/temporal/schema/postgresql/v12/`));
    assert.equal(services.temporal?.depends_on?.['temporal-schema']?.condition, 'service_completed_successfully', 'the server starts on a set-up schema');
  });

  it('pins every third-party image (MinIO to a dated release) and health-checks the long-running services', () => {
    assert.match(services.minio?.image ?? '', /minio\/minio:RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/);
    for (const [name, s] of Object.entries(services)) {
      if (s.build) continue;
      assert.match(s.image ?? '', /:[^:]+$/, `${name} is pinned`);
      assert.doesNotMatch(s.image ?? '', /:latest$/, `${name} is pinned`);
    }
    for (const name of ['postgres', 'minio', 'api', 'worker']) assert.ok(services[name]?.healthcheck?.test, `${name} has a healthcheck`);
  });

  it('runs the app from the build with plain node, and the worker scales (no container name, no host ports)', () => {
    assert.deepEqual(services.api?.command, ['node', 'dist/src/bin/api.js']);
    assert.deepEqual(services.worker?.command, ['node', 'dist/src/bin/worker.js']);
    assert.deepEqual(services.migrate?.command, ['node', 'dist/src/bin/migrate.js', 'latest']);
    assert.equal(services.worker?.container_name, undefined);
    assert.equal(services.worker?.ports, undefined);
  });

  it('builds a multi-stage image on Node 24 whose final stage has no dev dependencies, no tsx and no root user', () => {
    const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const stages = dockerfile.split(/^FROM /m).slice(1);
    assert.ok(stages.length >= 2, 'multi-stage');
    for (const stage of stages) assert.match(stage, /^node:24-bookworm-slim\b/);
    const final = stages[stages.length - 1]!;
    assert.match(final, /npm ci --omit=dev/);
    assert.match(final, /^USER (?!root)\w+/m);
    assert.doesNotMatch(final, /tsx/);
    assert.match(final, /^CMD \["node", "dist\/src\/bin\/api\.js"\]/m);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.equal(pkg.dependencies.tsx, undefined, 'tsx is a dev dependency: `npm ci --omit=dev` leaves it out');
  });
});
