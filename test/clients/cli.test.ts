import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probeDuration } from '../../src/audio/ffmpeg';
import { call, registerUser } from '../helpers/api';
import { startTestStack, type TestStack } from '../helpers/stack';

const BIN = path.join(__dirname, '../../bin/aimake');

const ARTICLE_EN = `# Keeping Bees

A colony has a single queen, thousands of workers and, in summer, a few hundred drones.
A beginner needs one hive, a veil and a smoker. Inspect the hive every week in spring.
In autumn the workers drive the drones out of the hive, and the colony winters on its honey.`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('the aimake CLI (bin/aimake), as a child process against the API', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let home: string;

  before(async () => {
    stack = await startTestStack();
  });
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'aimake-cli-'));
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  /** Runs `aimake args…` with a HOME of its own (no saved login, no AIMAKE_TOKEN unless given). */
  function aimake(args: string[], env: Record<string, string> = {}): Promise<Run> {
    const { AIMAKE_TOKEN: _t, XDG_CONFIG_HOME: _x, AIMAKE_API_URL: _a, ...inherited } = process.env;
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [BIN, ...args],
        { cwd: home, env: { ...inherited, HOME: home, AIMAKE_API_URL: stack.url, ...env }, timeout: 170_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  it('logs in, keeping the token in ~/.config/aimake/credentials.json readable by its owner only', async () => {
    const { email, password } = await registerUser(stack, 'cli-login');
    const run = await aimake(['login', '--email', email, '--password', password]);
    assert.equal(run.code, 0, run.stderr);
    const file = path.join(home, '.config/aimake/credentials.json');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(saved.email, email);
    assert.equal((await call(stack.url, 'GET', '/v1/me', { token: saved.token })).status, 200, 'the saved token signs in');

    // The saved login is used by later commands; AIMAKE_TOKEN overrides it.
    const usage = await aimake(['usage', '--json']);
    assert.equal(usage.code, 0, usage.stderr);
    assert.equal(JSON.parse(usage.stdout).quota.used, 0);
    const overridden = await aimake(['usage'], { AIMAKE_TOKEN: 'not-a-token' });
    assert.notEqual(overridden.code, 0);
    assert.match(overridden.stderr, /UNAUTHENTICATED/);
  });

  it('honours XDG_CONFIG_HOME, and fails with the API message on a wrong password', async () => {
    const { email, password } = await registerUser(stack, 'cli-xdg');
    const xdg = path.join(home, 'xdg');
    const wrong = await aimake(['login', '--email', email, '--password', 'not the password'], { XDG_CONFIG_HOME: xdg });
    assert.notEqual(wrong.code, 0);
    const direct = await call(stack.url, 'POST', '/v1/auth/login', { body: { email, password: 'not the password' } });
    assert.ok(wrong.stderr.includes(direct.body.error.message), wrong.stderr);
    assert.equal(fs.existsSync(path.join(xdg, 'aimake/credentials.json')), false);

    const run = await aimake(['login', '--email', email, '--password', password], { XDG_CONFIG_HOME: xdg });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(fs.statSync(path.join(xdg, 'aimake/credentials.json')).mode & 0o777, 0o600);
    assert.equal(fs.existsSync(path.join(home, '.config')), false);
  });

  it('lists the voices as JSON', async () => {
    const run = await aimake(['voices', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const ids = (JSON.parse(run.stdout) as { id: string }[]).map((v) => v.id);
    assert.ok(ids.includes('local-en-female') && ids.includes('local-en-male'), ids.join());
  });

  it('creates a text podcast, waits with progress and saves an MP3 that decodes', async () => {
    const { token } = await registerUser(stack, 'cli-podcast');
    fs.writeFileSync(path.join(home, 'article.md'), ARTICLE_EN);
    const run = await aimake(
      [
        'podcast',
        'create',
        '--text',
        'article.md',
        '--duration',
        '1m',
        '--language',
        'en-US',
        '--host',
        'local-en-female',
        '--guest',
        'local-en-male',
        '--wait',
        '--out',
        'x.mp3',
      ],
      { AIMAKE_TOKEN: token },
    );
    assert.equal(run.code, 0, run.stderr);
    // Not a terminal: plain progress lines on stderr, one per change seen (polled each second), ending at 100%.
    const lines = run.stderr.trim().split('\n');
    assert.ok(lines.length >= 2, run.stderr);
    assert.match(lines.at(-1)!, /100%\s+completed/);
    assert.match(run.stdout, /Saved x\.mp3/);
    const duration = await probeDuration(path.join(home, 'x.mp3'));
    assert.ok(duration > 1, `decoded ${duration}s`);

    const podcasts = (await call(stack.url, 'GET', '/v1/podcasts', { token })).body.items;
    assert.equal(podcasts.length, 1);
    const status = await aimake(['podcast', 'status', podcasts[0].id, '--json'], { AIMAKE_TOKEN: token });
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).status, 'completed');
    const transcript = await aimake(['podcast', 'transcript', podcasts[0].id], { AIMAKE_TOKEN: token });
    assert.equal(transcript.code, 0, transcript.stderr);
    assert.match(transcript.stdout, /^WEBVTT/);
    assert.match(transcript.stdout, /Keeping Bees|hive|queen/i);
  });

  it('speaks a text into an MP3 that decodes', async () => {
    const { token } = await registerUser(stack, 'cli-tts');
    const run = await aimake(['tts', '--text', 'Hello from the command line.', '--voice', 'local-en-male', '--out', 'hello.mp3', '--json'], {
      AIMAKE_TOKEN: token,
    });
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.out, 'hello.mp3');
    assert.ok(Math.abs((await probeDuration(path.join(home, 'hello.mp3'))) - result.duration) < 0.2);
  });

  it("exits non-zero with the API's message when the API refuses (an unknown voice)", async () => {
    const { token } = await registerUser(stack, 'cli-fail');
    const args = ['podcast', 'create', '--topic', 'Bees', '--duration', '1m', '--language', 'en-US', '--host', 'no-such-voice', '--guest', 'local-en-male'];
    const direct = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: { sourceType: 'topic', sourceContent: 'Bees', targetDuration: 60, language: 'en-US', hostVoiceId: 'no-such-voice', guestVoiceId: 'local-en-male' },
    });
    assert.ok(direct.status >= 400);
    const run = await aimake(args, { AIMAKE_TOKEN: token });
    assert.equal(run.code, 1);
    assert.ok(run.stderr.includes(direct.body.error.message), run.stderr);
    assert.equal(run.stdout, '');

    const json = await aimake([...args, '--json'], { AIMAKE_TOKEN: token });
    assert.equal(json.code, 1);
    assert.deepEqual(JSON.parse(json.stderr).error.message, direct.body.error.message);
  });

  it('refuses to run signed out, before any request', async () => {
    const run = await aimake(['usage']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /aimake login/);
  });
});
