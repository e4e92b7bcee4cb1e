import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probeDuration } from '../../src/audio/ffmpeg';
import { CLIENT_DIR, generateClient } from '../../src/bin/generateClient';
import {
  AimakeError,
  createAimakeClient,
  downloadAudio,
  downloadPodcast,
  unwrap,
  waitForAudio,
  waitForPodcast,
  type PodcastJob,
} from '../../clients/typescript';
import { call, registerUser } from '../helpers/api';
import { ARTICLE_ZH_EN, assertMonotonicProgress } from '../helpers/generation';
import { startTestStack, type TestStack } from '../helpers/stack';

describe('the typed TypeScript client (clients/typescript)', function () {
  this.timeout(180_000);

  it('is generated from the current spec: run `npm run client:generate` after changing the API', async () => {
    const fresh = await generateClient();
    for (const [name, text] of Object.entries(fresh)) {
      const committed = fs.readFileSync(path.join(CLIENT_DIR, name), 'utf8');
      assert.ok(committed === text, `clients/typescript/${name} is stale: run \`npm run client:generate\` and commit the result`);
    }
  });

  describe('against the API', () => {
    let stack: TestStack;
    let dir: string;

    before(async () => {
      stack = await startTestStack();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aimake-client-'));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('creates a text podcast, waits for it with ETag polling and downloads an MP3 that decodes', async () => {
      const { token } = await registerUser(stack, 'client-podcast');
      const sent: { ifNoneMatch: string | null; status: number }[] = [];
      // Records what went over the wire (the real fetch does the work).
      const recording: typeof fetch = async (input, init) => {
        const req = new Request(input, init);
        const res = await fetch(req);
        if (req.url.endsWith('/job')) sent.push({ ifNoneMatch: req.headers.get('if-none-match'), status: res.status });
        return res;
      };
      const client = createAimakeClient({ baseUrl: stack.url, token, fetch: recording });
      const created = await unwrap(
        client.POST('/v1/podcasts', {
          body: { sourceType: 'text', sourceContent: ARTICLE_ZH_EN, targetDuration: 60, hostVoiceId: 'local-zh-female', guestVoiceId: 'local-zh-male' },
        }),
      );
      const id = (created as unknown as { podcast: { id: string } }).podcast.id;

      const seen: PodcastJob[] = [];
      const job = await waitForPodcast(client, id, { intervalMs: 100, onProgress: (j) => seen.push(j) });
      assert.equal(job.status, 'completed', JSON.stringify(job));
      assert.equal(job.progress, 100);
      assertMonotonicProgress(seen);
      assert.deepEqual(seen.at(-1), job);
      // Only changes are reported (a state may recur later: an ETA can rise again), and every poll
      // after the first asks only for a change.
      for (let i = 1; i < seen.length; i++) assert.notDeepEqual(seen[i], seen[i - 1], `state ${i} repeats the one before`);
      assert.ok(sent.length >= 2);
      assert.equal(sent[0]!.ifNoneMatch, null);
      for (const s of sent.slice(1)) assert.ok(s.ifNoneMatch, 'later polls send If-None-Match');

      const file = path.join(dir, 'podcast.mp3');
      await downloadPodcast(client, id, file);
      const podcast = (await call(stack.url, 'GET', `/v1/podcasts/${id}`, { token })).body;
      const duration = await probeDuration(file);
      assert.ok(Math.abs(duration - podcast.duration) / podcast.duration < 0.02, `file ${duration}s vs recorded ${podcast.duration}s`);
    });

    it('stops waiting when a review podcast parks for script approval, instead of waiting forever', async () => {
      const { token } = await registerUser(stack, 'client-review');
      const client = createAimakeClient({ baseUrl: stack.url, token });
      const created = await unwrap(
        client.POST('/v1/podcasts', {
          body: {
            sourceType: 'text',
            sourceContent: ARTICLE_ZH_EN,
            targetDuration: 60,
            hostVoiceId: 'local-zh-female',
            guestVoiceId: 'local-zh-male',
            review: true,
          },
        }),
      );
      const id = (created as unknown as { podcast: { id: string } }).podcast.id;
      const job = await waitForPodcast(client, id, { intervalMs: 100 });
      assert.equal(job.status, 'scripting');
      assert.equal((await call(stack.url, 'GET', `/v1/podcasts/${id}`, { token })).body.status, 'draft');
    });

    it('speaks a text, waits for the audio and downloads it', async () => {
      const { token } = await registerUser(stack, 'client-tts');
      const client = createAimakeClient({ baseUrl: stack.url, token });
      const created = (await unwrap(client.POST('/v1/audios', { body: { text: 'Hello from the typed client.', voiceId: 'local-en-female' } }))) as unknown as {
        id: string;
      };
      const audio = await waitForAudio(client, created.id, { intervalMs: 100 });
      assert.equal(audio.id, created.id);
      const file = path.join(dir, 'audio.mp3');
      await downloadAudio(client, created.id, file);
      const duration = await probeDuration(file);
      assert.ok(duration > 0.5 && Math.abs(duration - (audio.duration as number)) < 0.2, `file ${duration}s vs recorded ${audio.duration}s`);
    });

    it("throws the API's error (code, message, status), and leaves no partial download", async () => {
      const { token } = await registerUser(stack, 'client-errors');
      const client = createAimakeClient({ baseUrl: stack.url, token });
      const bad = { sourceType: 'topic' as const, sourceContent: 'Bees', hostVoiceId: 'no-such-voice', guestVoiceId: 'local-en-male' };
      const direct = await call(stack.url, 'POST', '/v1/podcasts', { token, body: bad });
      await assert.rejects(unwrap(client.POST('/v1/podcasts', { body: bad })), (err: unknown) => {
        assert.ok(err instanceof AimakeError);
        assert.equal(err.status, direct.status);
        assert.equal(err.code, direct.body.error.code);
        assert.equal(err.message, direct.body.error.message);
        return true;
      });

      const file = path.join(dir, 'missing.mp3');
      const someoneElses = '00000000-0000-4000-8000-000000000000';
      await assert.rejects(downloadPodcast(client, someoneElses, file), (err: unknown) => err instanceof AimakeError && err.code === 'NOT_FOUND');
      assert.equal(fs.existsSync(file), false);
      await assert.rejects(
        downloadPodcast(createAimakeClient({ baseUrl: stack.url }), someoneElses, file),
        (err: unknown) => err instanceof AimakeError && err.status === 401,
      );
    });
  });
});
