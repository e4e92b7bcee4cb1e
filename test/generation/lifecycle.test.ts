import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { call, registerUser, startTestApi } from '../helpers/api';
import { ARTICLE_ZH_EN, assertMonotonicProgress, pollJob } from '../helpers/generation';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { asksForChinese, startFakeOpenAi, type FakeOpenAi } from '../fakes/openaiServer';
import { queryJobSnapshot } from '../../src/temporal/jobs';

const LINES = Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? 'guest' : 'host', text: `Lifecycle line ${i + 1}: a sentence worth hearing.` }));
// The podcasts from Chinese sources are written in Chinese, as the script writer checks.
const LINES_ZH = Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? 'guest' : 'host', text: `生命周期测试第 ${i + 1} 句：一句值得一听的话。` }));
const LONG_TEXT = Array.from({ length: 40 }, (_, i) => `Sentence ${i + 1} says something about durable audio generation.`).join(' ');

describe('podcast lifecycle: cancel, retry, review, quota, idempotency', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let openai: FakeOpenAi;

  before(async () => {
    openai = await startFakeOpenAi({ latencyMs: 150 });
    stack = await startTestStack({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, SYNTH_CONCURRENCY: '2' });
  });
  after(() => openai.close());
  beforeEach(() => {
    openai.reset();
    openai.setChatHandler((body) => ({ lines: asksForChinese(body) ? LINES_ZH : LINES }));
  });

  const speechTexts = () => openai.requests.filter((r) => r.path === '/v1/audio/speech').map((r) => r.body.input as string);
  const topicPodcast = (token: string, extra: Record<string, unknown> = {}, headers?: Record<string, string>) =>
    call(stack.url, 'POST', '/v1/podcasts', {
      token,
      headers,
      body: {
        sourceType: 'topic',
        sourceContent: 'Lifecycle',
        targetDuration: 60,
        language: 'en-US',
        hostVoiceId: 'openai-alloy',
        guestVoiceId: 'openai-nova',
        ...extra,
      },
    });

  it('cancels a run midway: canceled, partial files removed, nothing charged', async () => {
    openai.faults.push({ path: '/v1/audio/speech', delayMs: 800, times: 100 });
    const { token, user } = await registerUser(stack, 'cancel');
    const res = await topicPodcast(token);
    const podcastId = res.body.podcast.id;
    await eventually(async () => ((await stack.knex('podcast_segments').where({ podcast_id: podcastId })).length >= 2 ? true : undefined), 60_000, 'two lines');
    const cancel = await call(stack.url, 'POST', `/v1/podcasts/${podcastId}/cancel`, { token });
    assert.equal(cancel.status, 202, JSON.stringify(cancel.body));
    const { job } = await pollJob(stack, token, podcastId);
    assert.equal(job.status, 'canceled');
    const p = (await call(stack.url, 'GET', `/v1/podcasts/${podcastId}`, { token })).body;
    assert.equal(p.status, 'canceled');
    assert.equal(await stack.storage.deletePrefix(`podcasts/${podcastId}/segments`), 0, 'no partial segment files remain');
    assert.equal((await stack.knex('podcast_segments').where({ podcast_id: podcastId })).length, 0);
    const u = await stack.knex('users').where({ id: user.id }).first();
    assert.ok(u);
    assert.equal(u.quota_used, 0);
    assert.equal(u.quota_reserved, 0);
    assert.equal((await stack.knex('usage_logs').where({ podcast_id: podcastId })).length, 0);
    const again = await call(stack.url, 'POST', `/v1/podcasts/${podcastId}/cancel`, { token });
    assert.equal(again.status, 409, 'a canceled podcast cannot be canceled again');
  });

  it('retries a failed podcast, reusing the lines already synthesized', async () => {
    const { token, user } = await registerUser(stack, 'retry');
    // Four lines succeed, the fifth request is refused as invalid, which fails the job at once.
    openai.faults.push(
      { path: '/v1/audio/speech', times: 4 },
      { path: '/v1/audio/speech', status: 400, body: { error: { message: 'bad input', type: 'invalid_request_error' } } },
    );
    const res = await topicPodcast(token);
    const podcastId = res.body.podcast.id;
    const first = await pollJob(stack, token, podcastId);
    assert.equal(first.job.status, 'failed');
    assert.equal(first.job.errorCode, 'TTS_INVALID_REQUEST');
    // In-flight lines may still land after the failure; wait until the segment count is stable.
    await new Promise((r) => setTimeout(r, 1000));
    const spokenBefore = await stack.knex('podcast_segments').where({ podcast_id: podcastId }).pluck('line_index');
    assert.ok(spokenBefore.length >= 3, `some lines were spoken before the failure (${spokenBefore.length})`);

    const retry = await call(stack.url, 'POST', `/v1/podcasts/${podcastId}/generate`, { token });
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
    assert.notEqual(retry.body.job.id, first.job.id, 'a new job');
    const second = await pollJob(stack, token, podcastId);
    assert.equal(second.job.status, 'completed', JSON.stringify(second.job));
    assert.equal(openai.count('/v1/chat/completions'), 1, 'the script is reused too');
    const texts = speechTexts();
    for (const i of spokenBefore) assert.equal(texts.filter((t) => t === LINES[i]!.text).length, 1, `line ${i} was paid for once`);
    assert.equal((await stack.knex('usage_logs').where({ podcast_id: podcastId })).length, 1);
    const u = await stack.knex('users').where({ id: user.id }).first();
    assert.ok(u);
    assert.equal(u.quota_reserved, 0);
    // Generating a completed podcast again (API v1.1, cheap edits) with nothing changed speaks nothing and charges nothing.
    const callsBefore = speechTexts().length;
    const again = await call(stack.url, 'POST', `/v1/podcasts/${podcastId}/generate`, { token });
    assert.equal(again.status, 202, JSON.stringify(again.body));
    assert.equal((await pollJob(stack, token, podcastId)).job.status, 'completed');
    assert.equal(speechTexts().length, callsBefore, 'no line spoken again');
    assert.equal((await stack.knex('users').where({ id: user.id }).first())!.quota_used, u.quota_used, 'nothing charged again');
  });

  it('parks a review run as a draft, takes an edited script, and generates it on approval', async () => {
    const { token } = await registerUser(stack, 'review');
    const res = await topicPodcast(token, { review: true });
    const podcastId = res.body.podcast.id;
    const draft = await eventually(
      async () => {
        const p = (await call(stack.url, 'GET', `/v1/podcasts/${podcastId}`, { token })).body;
        return p.status === 'draft' ? p : undefined;
      },
      60_000,
      'the draft',
    );
    assert.equal(draft.script.length, LINES.length);
    assert.equal(draft.job.currentStep, 'Waiting for script approval');
    assert.equal(draft.job.awaitingApproval, true, 'the job view says it waits for approval');
    const live = await queryJobSnapshot(await stack.temporal.client(), podcastId);
    assert.deepEqual(
      { status: live.status, awaitingApproval: live.awaitingApproval },
      { status: 'scripting', awaitingApproval: true },
      'the run answers the jobSnapshot query',
    );
    assert.equal(openai.count('/v1/audio/speech'), 0, 'nothing is spoken before approval');

    const bad = await call(stack.url, 'PUT', `/v1/podcasts/${podcastId}/script`, { token, body: { script: [{ role: 'narrator', text: '' }] } });
    assert.equal(bad.status, 400);
    const edited = [
      { role: 'host', text: 'An edited opening line.' },
      { role: 'guest', text: 'And an edited answer.', voiceId: 'openai-shimmer' },
    ];
    const put = await call(stack.url, 'PUT', `/v1/podcasts/${podcastId}/script`, { token, body: { script: edited } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(put.body.script, [
      { role: 'host', text: 'An edited opening line.', voiceId: 'openai-alloy' },
      { role: 'guest', text: 'And an edited answer.', voiceId: 'openai-shimmer' },
    ]);

    const go = await call(stack.url, 'POST', `/v1/podcasts/${podcastId}/generate`, { token });
    assert.equal(go.status, 202, JSON.stringify(go.body));
    // A client reading right after approving never sees the draft it has just approved.
    assert.equal(go.body.job.awaitingApproval, false, JSON.stringify(go.body.job));
    const approved = (await call(stack.url, 'GET', `/v1/podcasts/${podcastId}`, { token })).body;
    assert.equal(approved.status, 'processing');
    assert.equal(approved.job.awaitingApproval, false);
    const { job, seen } = await pollJob(stack, token, podcastId);
    assert.equal(job.status, 'completed');
    assertMonotonicProgress(seen);
    // Line counts as numbers, all of them once completed.
    assert.deepEqual({ done: job.linesDone, total: job.linesTotal }, { done: edited.length, total: edited.length });
    assert.deepEqual(speechTexts().sort(), edited.map((l) => l.text).sort(), 'exactly the edited script was spoken');
    assert.deepEqual(
      openai.requests
        .filter((r) => r.path === '/v1/audio/speech')
        .map((r) => r.body.voice)
        .sort(),
      ['alloy', 'shimmer'],
    );
    // Once completed the script is editable again (API v1.1: the next generation speaks only what changed).
    const late = await call(stack.url, 'PUT', `/v1/podcasts/${podcastId}/script`, { token, body: { script: edited } });
    assert.equal(late.status, 200, JSON.stringify(late.body));
  });

  it('never lets two concurrent podcasts of one user overspend', async () => {
    const { token, user } = await registerUser(stack, 'two-at-once');
    await stack.knex('users').where({ id: user.id }).update({ quota_limit: 100 });
    const body = {
      sourceType: 'text',
      sourceContent: LONG_TEXT,
      targetDuration: 60,
      language: 'en-US',
      hostVoiceId: 'local-en-female',
      guestVoiceId: 'local-en-male',
    };
    const [a, b] = await Promise.all([0, 1].map(() => call(stack.url, 'POST', '/v1/podcasts', { token, body })));
    assert.ok(a);
    assert.ok(b);
    const statuses = [a.status, b.status].sort();
    assert.deepEqual(statuses, [202, 402], 'one is admitted, the other refused');
    const refused = a.status === 402 ? a : b;
    assert.equal(refused.body.error.code, 'QUOTA_EXCEEDED');
    const admitted = a.status === 202 ? a : b;
    await pollJob(stack, token, admitted.body.podcast.id);
    const u = await stack.knex('users').where({ id: user.id }).first();
    assert.ok(u);
    assert.ok(u.quota_used <= u.quota_limit);
    assert.equal(u.quota_reserved, 0);
  });

  it('admits at most floor(R / c) of K parallel requests', async () => {
    const { token, user } = await registerUser(stack, 'k-parallel');
    const R = 250;
    const c = 60; // a text longer than the target reserves the target
    await stack.knex('users').where({ id: user.id }).update({ quota_limit: R });
    const body = {
      sourceType: 'text',
      sourceContent: LONG_TEXT,
      targetDuration: c,
      language: 'en-US',
      hostVoiceId: 'local-en-female',
      guestVoiceId: 'local-en-male',
    };
    const replies = await Promise.all(Array.from({ length: 10 }, () => call(stack.url, 'POST', '/v1/podcasts', { token, body })));
    const admitted = replies.filter((r) => r.status === 202);
    assert.equal(admitted.length, Math.floor(R / c));
    assert.ok(replies.every((r) => r.status === 202 || (r.status === 402 && r.body.error.code === 'QUOTA_EXCEEDED')));
    const reserved = await stack.knex('users').where({ id: user.id }).first();
    assert.ok(reserved);
    assert.ok(reserved.quota_reserved + reserved.quota_used <= R);
    for (const r of admitted) await pollJob(stack, token, r.body.podcast.id);
    const u = await stack.knex('users').where({ id: user.id }).first();
    assert.ok(u);
    assert.ok(u.quota_used <= R, `${u.quota_used} <= ${R}`);
  });

  it('yields one podcast for the same Idempotency-Key sent 10 times at once', async () => {
    const { token, user } = await registerUser(stack, 'idem');
    const headers = { 'Idempotency-Key': `key-${Date.now()}` };
    const replies = await Promise.all(Array.from({ length: 10 }, () => topicPodcast(token, {}, headers)));
    assert.ok(
      replies.every((r) => r.status === 202),
      JSON.stringify(replies.map((r) => r.status)),
    );
    const ids = new Set(replies.map((r) => r.body.podcast.id));
    assert.equal(ids.size, 1);
    assert.equal((await stack.knex('podcasts').where({ user_id: user.id })).length, 1);
    const different = await topicPodcast(token, { targetDuration: 120 }, headers);
    assert.equal(different.status, 409);
    assert.equal(different.body.error.code, 'CONFLICT');
    await pollJob(stack, token, [...ids][0]!);
    assert.equal((await stack.knex('usage_logs').where({ user_id: user.id })).length, 1, 'charged once');
  });

  it('answers job polling with ETag/304 and streams job snapshots as server-sent events', async () => {
    const { token } = await registerUser(stack, 'sse');
    const res = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: { sourceType: 'text', sourceContent: ARTICLE_ZH_EN, targetDuration: 60, hostVoiceId: 'local-zh-female', guestVoiceId: 'local-zh-male' },
    });
    const podcastId = res.body.podcast.id;
    const stream = await fetch(`${stack.url}/v1/podcasts/${podcastId}/events`, { headers: { authorization: `Bearer ${token}` } });
    assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
    const text = await stream.text(); // ends when the job ends
    const snapshots = text
      .split('\n\n')
      .filter((b) => b.startsWith('event: job'))
      .map((b) => JSON.parse(b.split('\ndata: ')[1]!));
    assert.ok(snapshots.length >= 1);
    assert.equal(snapshots[snapshots.length - 1].status, 'completed');
    assertMonotonicProgress(snapshots);

    const first = await call(stack.url, 'GET', `/v1/podcasts/${podcastId}/job`, { token });
    const etag = first.headers.get('etag')!;
    assert.ok(etag);
    const again = await call(stack.url, 'GET', `/v1/podcasts/${podcastId}/job`, { token, headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
  });

  it("hides another user's podcast behind 404 everywhere", async () => {
    const owner = await registerUser(stack, 'owner');
    const other = await registerUser(stack, 'other');
    const res = await topicPodcast(owner.token);
    const id = res.body.podcast.id;
    await pollJob(stack, owner.token, id);
    for (const [method, path] of [
      ['GET', `/v1/podcasts/${id}`],
      ['GET', `/v1/podcasts/${id}/job`],
      ['GET', `/v1/podcasts/${id}/events`],
      ['GET', `/v1/podcasts/${id}/file`],
      ['PUT', `/v1/podcasts/${id}/script`],
      ['POST', `/v1/podcasts/${id}/generate`],
      ['POST', `/v1/podcasts/${id}/cancel`],
    ] as const) {
      const r = await call(stack.url, method, path, { token: other.token, body: method === 'PUT' ? { script: [{ role: 'host', text: 'x' }] } : undefined });
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.body.error.code, 'NOT_FOUND');
    }
    const list = await call(stack.url, 'GET', '/v1/podcasts', { token: other.token });
    assert.equal(list.body.total, 0);
    assert.equal((await call(stack.url, 'GET', '/v1/podcasts', { token: owner.token })).body.total, 1);
  });
});

describe('when Temporal cannot be reached', function () {
  this.timeout(60_000);

  it('answers 503, leaves no podcast processing, charges nothing, and lets the client retry the same key', async () => {
    const api = await startTestApi({ TEMPORAL_ADDRESS: '127.0.0.1:1' });
    const { token, user } = await registerUser(api, 'no-temporal');
    const headers = { 'Idempotency-Key': `down-${Date.now()}` };
    const body = { sourceType: 'text', sourceContent: ARTICLE_ZH_EN, targetDuration: 60, hostVoiceId: 'local-zh-female', guestVoiceId: 'local-zh-male' };
    const first = await call(api.url, 'POST', '/v1/podcasts', { token, body, headers });
    assert.equal(first.status, 503);
    assert.equal(first.body.error.code, 'UNAVAILABLE');
    const podcasts = await api.knex('podcasts').where({ user_id: user.id });
    assert.equal(podcasts.length, 1);
    assert.equal(podcasts[0]!.status, 'failed', 'not left processing without a run');
    const job = await api.knex('podcast_jobs').where({ podcast_id: podcasts[0]!.id }).first();
    assert.ok(job);
    assert.equal(job.status, 'failed');
    const u = await api.knex('users').where({ id: user.id }).first();
    assert.ok(u);
    assert.equal(u.quota_reserved, 0);
    assert.equal(u.quota_used, 0);
    const again = await call(api.url, 'POST', '/v1/podcasts', { token, body, headers });
    assert.equal(again.status, 503, 'the key was not kept for a request that could not be carried out');
  });
});

describe('podcast requests under the default source policy', function () {
  this.timeout(120_000);
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ SOURCE_ALLOW_LOOPBACK: 'false' });
  });

  it('refuses a topic without an LLM at request time', async () => {
    const { token } = await registerUser(stack, 'no-llm');
    const r = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: { sourceType: 'topic', sourceContent: 'x', hostVoiceId: 'local-zh-female', guestVoiceId: 'local-zh-male' },
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'VALIDATION_FAILED');
    assert.match(r.body.error.message, /LLM/);
  });

  it('fails URL sources on loopback and metadata addresses without contacting them, and charges nothing', async () => {
    let hits = 0;
    const page = http.createServer((_q, s) => {
      hits++;
      s.end('<p>secret</p>');
    });
    await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
    try {
      const { token, user } = await registerUser(stack, 'ssrf');
      for (const url of [
        `http://127.0.0.1:${(page.address() as AddressInfo).port}/`,
        'http://169.254.169.254/latest/meta-data/',
        'http://[::1]/',
        'http://10.0.0.1/',
      ]) {
        const r = await call(stack.url, 'POST', '/v1/podcasts', {
          token,
          body: { sourceType: 'url', sourceContent: url, targetDuration: 60, hostVoiceId: 'local-en-female', guestVoiceId: 'local-en-male' },
        });
        assert.equal(r.status, 202);
        const { job } = await pollJob(stack, token, r.body.podcast.id);
        assert.equal(job.status, 'failed', url);
        assert.equal(job.errorCode, 'SOURCE_FORBIDDEN_ADDRESS', url);
      }
      assert.equal(hits, 0, 'the loopback server was never contacted');
      const u = await stack.knex('users').where({ id: user.id }).first();
      assert.ok(u);
      assert.equal(u.quota_used, 0);
      assert.equal(u.quota_reserved, 0);
    } finally {
      page.close();
    }
  });

  it('validates podcast requests field by field', async () => {
    const { token } = await registerUser(stack, 'validate');
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ sourceType: 'url', sourceContent: 'not a url', hostVoiceId: 'local-zh-female', guestVoiceId: 'local-zh-male' }, 'body.sourceContent'],
      [{ sourceType: 'text', sourceContent: 'x', targetDuration: 30, hostVoiceId: 'local-zh-female', guestVoiceId: 'local-zh-male' }, 'body.targetDuration'],
      [{ sourceType: 'text', sourceContent: 'x', hostVoiceId: 'no-such-voice', guestVoiceId: 'local-zh-male' }, 'body.hostVoiceId'],
      [{ sourceType: 'podcast', sourceContent: 'x', hostVoiceId: 'local-zh-female', guestVoiceId: 'local-zh-male' }, 'body.sourceType'],
    ];
    for (const [body, field] of cases) {
      const r = await call(stack.url, 'POST', '/v1/podcasts', { token, body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.ok(
        r.body.error.details.fields.some((f: { field: string }) => f.field === field),
        `${field} in ${JSON.stringify(r.body)}`,
      );
    }
    const bad = await call(stack.url, 'GET', '/v1/podcasts/not-a-uuid', { token });
    assert.equal(bad.status, 400);
  });
});
