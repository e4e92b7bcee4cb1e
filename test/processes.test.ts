import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { probeDuration } from '../src/audio/ffmpeg';
import { portOpen } from '../src/processes';
import { emptyDatabase } from './helpers/db';

const ROOT = path.resolve(__dirname, '..');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Environment for a whole stack of our own: its database, data folder and ports. */
async function isolatedEnv() {
  return {
    ...process.env,
    DATABASE_URL: await emptyDatabase('proc'),
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'aimake-data-')),
    PORT: String(await freePort()),
    TEMPORAL_DEV_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
  };
}

/**
 * The README's commands must work on the machine's own Node (20 on ours) while CI runs the suite
 * on Node 24: .ci/run names that Node in AIMAKE_MACHINE_NODE.
 */
const NODE = process.env.AIMAKE_MACHINE_NODE || process.execPath;

function run(script: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(NODE, ['--import', 'tsx', path.join(ROOT, 'src/bin', script), ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, output: () => out };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));

describe(`process entry points (on Node ${spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim()})`, function () {
  this.timeout(180_000);

  it('npm run dev: serves /readyz and the Temporal UI, then stops every child on Ctrl-C', async () => {
    const env = await isolatedEnv();
    const { child, output } = run('dev.ts', [], env);
    try {
      const started = Date.now();
      while (!output().includes('AIMake is running')) {
        if (child.exitCode !== null) assert.fail(`dev exited early:\n${output()}`);
        assert.ok(Date.now() - started < 90_000, `not ready within 90 s:\n${output()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const ready = await fetch(`http://127.0.0.1:${env.PORT}/readyz`);
      assert.equal(ready.status, 200);
      const ui = await fetch(`http://127.0.0.1:${env.TEMPORAL_UI_PORT}/`);
      assert.equal(ui.status, 200, 'the Temporal Web UI answers');
      assert.match(output(), new RegExp(`Temporal UI\\s+http://127.0.0.1:${env.TEMPORAL_UI_PORT}`));
    } finally {
      child.kill('SIGINT');
      // 130 is the conventional status after Ctrl-C (the embedded PostgreSQL's exit hook uses it).
      assert.ok([0, 130].includes((await exited(child)) ?? -1), output());
    }
    for (const port of [env.PORT, env.TEMPORAL_DEV_PORT, env.TEMPORAL_UI_PORT])
      assert.equal(await portOpen(Number(port)), false, `port ${port} closed after Ctrl-C`);
  });

  it('npm run demo: generates a first podcast and prints its MP3, duration and Temporal UI link', async () => {
    const env = await isolatedEnv();
    const { child, output } = run('demo.ts', ['--exit'], env);
    assert.equal(await exited(child), 0, output());
    const mp3 = /MP3\s+(\S+\.mp3)/.exec(output())?.[1];
    const duration = Number(/Duration\s+([\d.]+) s/.exec(output())?.[1]);
    assert.ok(mp3 && fs.existsSync(mp3), output());
    assert.ok(Math.abs((await probeDuration(mp3)) - duration) < 0.2);
    assert.match(output(), new RegExp(`Temporal UI\\s+http://127.0.0.1:${env.TEMPORAL_UI_PORT}/namespaces/default/workflows/podcast-[0-9a-f-]{36}`));
  });
});
