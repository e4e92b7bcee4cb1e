import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { call, registerUser } from '../helpers/api';
import { ARTICLE_ZH_EN } from '../helpers/generation';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { createApi } from '../../src/api/app';
import { createKnex } from '../../src/db';
import { JobChanges, listenerConnection, PODCAST_JOB_CHANGED } from '../../src/jobs/jobChanges';
import { createLogger } from '../../src/logger';

/**
 * GET /v1/podcasts/{id}/events. No worker runs here, so a job stays `pending` until a test writes
 * to it directly, exactly as the worker would: the streams stay open as long as the test needs.
 */
describe('podcast event streams', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ SSE_MAX_PER_USER: '2' }, { worker: false });
  });

  const newPodcast = async (token: string): Promise<string> => {
    const res = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: { sourceType: 'text', sourceContent: ARTICLE_ZH_EN, targetDuration: 60, hostVoiceId: 'local-zh-female', guestVoiceId: 'local-zh-male' },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body.podcast.id;
  };

  /** An open stream: its job snapshots as they arrive, and a way to hang up. */
  async function openStream(token: string, podcastId: string) {
    const abort = new AbortController();
    const res = await fetch(`${stack.url}/v1/podcasts/${podcastId}/events`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
    const snapshots: Array<{ at: number; job: any }> = [];
    let ended = false;
    if (res.status === 200) {
      void (async () => {
        const decoder = new TextDecoder();
        let buffer = '';
        try {
          const reader = res.body!.getReader();
          for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
            buffer += decoder.decode(chunk.value, { stream: true });
            let cut: number;
            while ((cut = buffer.indexOf('\n\n')) >= 0) {
              const block = buffer.slice(0, cut);
              buffer = buffer.slice(cut + 2);
              if (block.startsWith('event: job')) snapshots.push({ at: Date.now(), job: JSON.parse(block.split('\ndata: ')[1]!) });
            }
          }
        } catch {
          // aborted by the test
        }
        ended = true;
      })();
    }
    return {
      res,
      snapshots,
      ended: () => ended,
      close: () => abort.abort(),
    };
  }

  const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  it('lets a user hold at most SSE_MAX_PER_USER streams at once; closing one frees its slot', async () => {
    const alice = await registerUser(stack, 'streams-alice');
    const bob = await registerUser(stack, 'streams-bob');
    const podcasts = await Promise.all([newPodcast(alice.token), newPodcast(alice.token), newPodcast(alice.token)]);
    const bobs = await newPodcast(bob.token);

    const first = await openStream(alice.token, podcasts[0]!);
    const second = await openStream(alice.token, podcasts[1]!);
    assert.equal(first.res.status, 200);
    assert.equal(second.res.status, 200);
    const third = await openStream(alice.token, podcasts[2]!);
    assert.equal(third.res.status, 429);
    assert.equal(await errorOf(third.res), 'RATE_LIMITED');
    assert.ok(third.res.headers.get('retry-after'), 'says when to try again');
    // The same podcast twice counts twice.
    const again = await openStream(alice.token, podcasts[0]!);
    assert.equal(again.res.status, 429);
    await again.res.body?.cancel();

    // Another user has slots of their own.
    const bobsStreams = [await openStream(bob.token, bobs), await openStream(bob.token, bobs)];
    assert.deepEqual(
      bobsStreams.map((s) => s.res.status),
      [200, 200],
    );

    // A client hanging up frees its slot.
    first.close();
    const replacement = await eventually(
      async () => {
        const s = await openStream(alice.token, podcasts[2]!);
        if (s.res.status === 200) return s;
        await s.res.body?.cancel();
        return undefined;
      },
      5_000,
      'a stream in the freed slot',
    );
    assert.equal(replacement.res.status, 200);
    const full = await openStream(alice.token, podcasts[0]!);
    assert.equal(full.res.status, 429);
    await full.res.body?.cancel();

    // So does the job ending: the stream sends the final snapshot and ends.
    await stack.knex('podcast_jobs').where({ podcast_id: podcasts[1] }).update({ status: 'failed', error_code: 'TEST', completed_at: stack.knex.fn.now() });
    await eventually(async () => (second.ended() ? true : undefined), 5_000, 'the stream to end with its job');
    assert.equal(second.snapshots.at(-1)?.job.status, 'failed');
    const afterEnd = await openStream(alice.token, podcasts[0]!);
    assert.equal(afterEnd.res.status, 200);

    for (const s of [replacement, afterEnd, ...bobsStreams]) s.close();
  });

  it('reads the job once per change, not on a timer, and delivers a change within a second', async () => {
    const { token } = await registerUser(stack, 'streams-reads');
    const podcastId = await newPodcast(token);
    let reads = 0;
    const countReads = (q: { sql: string; bindings?: unknown[] }) => {
      if (/^select\b/i.test(q.sql) && q.sql.includes('podcast_jobs') && (q.bindings ?? []).includes(podcastId)) reads++;
    };
    stack.knex.on('query', countReads);
    try {
      const stream = await openStream(token, podcastId);
      assert.equal(stream.res.status, 200);
      await eventually(async () => (stream.snapshots.length ? true : undefined), 5_000, 'the first snapshot');
      assert.equal(stream.snapshots[0]!.job.status, 'pending');

      // Nothing changes for three seconds: the job is read once, when the stream opens.
      await new Promise((r) => setTimeout(r, 3_000));
      assert.equal(reads, 1, `the unchanged job was read ${reads} times in 3 s`);
      assert.equal(stream.snapshots.length, 1);

      // A change made by anyone (here: directly, as the worker would) reaches the stream at once.
      const readsBefore = reads;
      const changedAt = Date.now();
      await stack.knex('podcast_jobs').where({ podcast_id: podcastId }).update({ status: 'analyzing', progress: 7 });
      const event = await eventually(async () => stream.snapshots.find((s) => s.job.progress === 7), 5_000, 'the changed snapshot');
      assert.ok(event.at - changedAt < 1_000, `the change arrived after ${event.at - changedAt} ms`);
      assert.equal(event.job.status, 'analyzing');
      assert.equal(reads - readsBefore, 1, `one change caused ${reads - readsBefore} reads`);
      stream.close();
    } finally {
      stack.knex.off('query', countReads);
    }
  });

  it('keeps streams live when the listening connection drops, catching up on changes made meanwhile', async () => {
    const { token } = await registerUser(stack, 'streams-reconnect');
    const podcastId = await newPodcast(token);
    const stream = await openStream(token, podcastId);
    assert.equal(stream.res.status, 200);
    await eventually(async () => (stream.snapshots.length ? true : undefined), 5_000, 'the first snapshot');

    const listeners = await stack.knex.raw(
      `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN ${PODCAST_JOB_CHANGED}'`,
    );
    assert.ok(listeners.rows.length >= 1, 'the listening connection was found and cut');
    // Written while nobody listens: its notification is lost, the catch-up read after reconnecting finds it.
    await stack.knex('podcast_jobs').where({ podcast_id: podcastId }).update({ status: 'analyzing', progress: 3 });
    await eventually(async () => stream.snapshots.find((s) => s.job.progress === 3), 5_000, 'the change made while disconnected');

    const changedAt = Date.now();
    await stack.knex('podcast_jobs').where({ podcast_id: podcastId }).update({ progress: 9 });
    const event = await eventually(async () => stream.snapshots.find((s) => s.job.progress === 9), 5_000, 'a change after reconnecting');
    assert.ok(event.at - changedAt < 1_000, `listening again: the change arrived after ${event.at - changedAt} ms`);
    stream.close();
  });

  it('ends open streams when the API shuts down, so closing the server does not wait on them', async () => {
    const api = createApi({ config: stack.config, knex: stack.knex, temporal: stack.temporal, logger: createLogger('silent') });
    const server: Server = await new Promise((resolve) => {
      const s = api.app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const { token } = await registerUser(stack, 'streams-shutdown');
    const podcastId = await newPodcast(token);
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/podcasts/${podcastId}/events`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    const body = res.text();
    const serverClosed = new Promise((resolve) => server.close(resolve));
    await api.close();
    assert.match(await body, /^event: job\n/, 'the stream ends after its snapshot');
    await serverClosed;
  });
});

describe('job change listener without a database', () => {
  it('wakes its watchers on a slow poll so no stream waits forever, and ends them on close', async () => {
    const changes = new JobChanges({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 500 }, createLogger('silent'), {
      fallbackPollMs: 100,
    });
    let changed = 0;
    let closed = false;
    const unwatch = await changes.watch('a-podcast', { changed: () => changed++, closed: () => (closed = true) });
    await eventually(async () => (changed >= 3 ? true : undefined), 3_000, 'three slow polls');
    await changes.close();
    assert.ok(closed, 'told to stop');
    unwatch();
    await assert.rejects(changes.watch('a-podcast', { changed: () => undefined, closed: () => undefined }), { code: 'UNAVAILABLE' });
  });
});

describe('the job change listener connection', () => {
  it('keeps the password of a password-protected database (the embedded one has one)', async () => {
    const knex = createKnex('postgres://postgres:s3cret@127.0.0.1:54329/aimake');
    try {
      const conn = listenerConnection(knex, 'aimake-job-changes');
      assert.equal(conn.password, 's3cret');
      assert.equal(conn.application_name, 'aimake-job-changes');
    } finally {
      await knex.destroy();
    }
  });
});
