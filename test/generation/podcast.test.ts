import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { call, registerUser } from '../helpers/api';
import { imageOnlyPdf, makeDocx, makePdf, uploadDocument } from '../helpers/documents';
import { ARTICLE_ZH_EN, assertMonotonicProgress, downloadedDuration, mirroredStatuses, pollJob } from '../helpers/generation';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3Server } from '../helpers/s3Server';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';

describe('podcast generation, end to end over HTTP (local speech, ffmpeg, Temporal)', function () {
  this.timeout(180_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack();
  });

  async function expectCompleted(token: string, userId: string, podcastId: string, quotaBefore: number) {
    const { job, seen } = await pollJob(stack, token, podcastId);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.equal(job.progress, 100);
    assertMonotonicProgress(seen);
    assert.deepEqual(await mirroredStatuses(stack, `podcast-${podcastId}`), ['analyzing', 'scripting', 'synthesizing', 'processing']);

    const podcast = (await call(stack.url, 'GET', `/v1/podcasts/${podcastId}`, { token })).body;
    assert.equal(podcast.status, 'completed');
    assert.ok(podcast.script.length >= 3, 'a dialogue of several lines');
    assert.deepEqual([...new Set(podcast.script.map((l: { role: string }) => l.role))].sort(), ['guest', 'host']);
    assert.ok(podcast.duration > 1);

    const file = await downloadedDuration(stack.url + podcast.audioUrl, token, 'mp3');
    assert.equal(file.contentType, 'audio/mpeg');
    assert.ok(Math.abs(file.duration - podcast.duration) / podcast.duration < 0.02, `file ${file.duration}s vs recorded ${podcast.duration}s`);

    const usage = await stack.knex('usage_logs').where({ podcast_id: podcastId });
    assert.equal(usage.length, 1, 'exactly one usage_logs row');
    assert.equal(usage[0]!.type, 'podcast');
    assert.equal(usage[0]!.provider, 'local');
    const user = await stack.knex('users').where({ id: userId }).first();
    assert.ok(user);
    assert.equal(user.quota_used - quotaBefore, Math.ceil(podcast.duration), 'quota rose by the rounded-up duration');
    assert.equal(user.quota_reserved, 0, 'nothing stays reserved');
    const library = await call(stack.url, 'GET', '/v1/audios?type=podcast', { token });
    assert.equal(library.body.items.length, 1);
    return podcast;
  }

  it('turns a Chinese and English text into a two-voice MP3', async () => {
    const { token, user } = await registerUser(stack, 'podcast-text');
    const res = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: {
        title: '音频的未来',
        sourceType: 'text',
        sourceContent: ARTICLE_ZH_EN,
        targetDuration: 120,
        hostVoiceId: 'local-zh-female',
        guestVoiceId: 'local-zh-male',
      },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.job.status, 'pending');
    assert.equal(res.body.podcast.status, 'processing');
    const podcast = await expectCompleted(token, user.id, res.body.podcast.id, 0);
    assert.match(podcast.script[0].text, /音频的未来/, 'the host opens with the title');
    assert.ok(
      podcast.script.some((l: { text: string }) => l.text.includes('Durable workflows make that possible.')),
      'the source is spoken, not invented',
    );
  });

  it('lets operators find runs by user and podcast, with the title in the memo and activities named for what they do', async () => {
    const { token, user } = await registerUser(stack, 'operator');
    const res = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: {
        title: 'Findable',
        sourceType: 'text',
        sourceContent: ARTICLE_ZH_EN,
        targetDuration: 60,
        hostVoiceId: 'local-zh-female',
        guestVoiceId: 'local-zh-male',
      },
    });
    const podcastId = res.body.podcast.id;
    await pollJob(stack, token, podcastId);
    const client = await stack.temporal.client();
    // The job row completes just before the run closes, and visibility lags a little behind both.
    await client.workflow.getHandle(`podcast-${podcastId}`).result();
    const found = await eventually(
      async () => {
        const runs = [];
        for await (const w of client.workflow.list({ query: `AimakeUserId = "${user.id}" AND AimakePodcastId = "${podcastId}"` })) runs.push(w);
        return runs.length && runs[0]!.status.name === 'COMPLETED' ? runs : undefined;
      },
      20_000,
      'the closed run in visibility',
    );
    assert.equal(found.length, 1);
    assert.equal(found[0]!.workflowId, `podcast-${podcastId}`);
    assert.equal(found[0]!.status.name, 'COMPLETED');
    const described = await client.workflow.getHandle(`podcast-${podcastId}`).describe();
    assert.equal(described.memo?.title, 'Findable');
    const history = await client.workflow.getHandle(`podcast-${podcastId}`).fetchHistory();
    const activities = new Set(history.events!.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean));
    for (const name of ['analyzePodcastSource', 'writePodcastScript', 'synthesizePodcastLine', 'stitchPodcast', 'completePodcast'])
      assert.ok(activities.has(name), name);
  });

  it('renders catalogue voices whose provider has no key locally, and records that', async () => {
    const { token } = await registerUser(stack, 'fallback');
    const res = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: { sourceType: 'text', sourceContent: ARTICLE_ZH_EN, targetDuration: 60, hostVoiceId: 'openai-nova', guestVoiceId: 'openai-onyx' },
    });
    const { job } = await pollJob(stack, token, res.body.podcast.id);
    assert.equal(job.status, 'completed');
    const podcast = (await call(stack.url, 'GET', `/v1/podcasts/${res.body.podcast.id}`, { token })).body;
    assert.equal(podcast.ttsProvider, 'local');
    assert.equal(podcast.hostVoiceId, 'openai-nova');
  });

  it('reads a URL source served from a loopback page', async () => {
    const page = http.createServer((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(`<html><head><title>Voices of Tomorrow</title></head><body><nav>Home | About</nav>
        <article><h1>Voices of Tomorrow</h1><p>Podcasts used to need a studio and two people. Now a single article can become a conversation.</p>
        <p>The hard part is reliability. Long jobs must survive crashes, deploys and outages without losing work.</p>
        <p>And every second of audio must be charged exactly once.</p></article></body></html>`);
    });
    await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
    try {
      const { token, user } = await registerUser(stack, 'podcast-url');
      const url = `http://127.0.0.1:${(page.address() as AddressInfo).port}/article`;
      const res = await call(stack.url, 'POST', '/v1/podcasts', {
        token,
        body: { sourceType: 'url', sourceContent: url, targetDuration: 60, language: 'en-US', hostVoiceId: 'local-en-female', guestVoiceId: 'local-en-male' },
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const podcast = await expectCompleted(token, user.id, res.body.podcast.id, 0);
      assert.equal(podcast.title, 'Voices of Tomorrow', 'the page title names an untitled podcast');
      assert.ok(!podcast.script.some((l: { text: string }) => l.text.includes('Home | About')), 'navigation is not read out');
    } finally {
      page.close();
    }
  });

  it('makes podcasts from an uploaded PDF and DOCX: their lines come from the documents, not their furniture or references', async () => {
    const pdf = await makePdf(
      [
        ['Honeybees live in colonies of many thousands. Each colony has a single queen.', '', 'Worker bees gather nectar and pollen all summer long.'],
        ['Drones do not gather food. In autumn the workers drive them out of the hive.', '', 'References', 'Seeley, T. The Wisdom of the Hive. 1995.'],
      ],
      { title: 'Life in the Hive', runningHead: 'Apiculture Quarterly 12', footer: (n, of) => `Page ${n} of ${of}` },
    );
    const docx = await makeDocx([
      { title: 'Keeping Bees' },
      { heading: 1, text: 'Getting started' },
      { text: 'A beginner needs one hive, a veil and a smoker.', footnote: 'Prices vary by region.' },
      { text: 'Inspect the hive every week in spring.' },
      { heading: 1, text: 'Bibliography' },
      { text: 'Crane, E. The World History of Beekeeping. 1999.' },
    ]);
    for (const doc of [
      {
        name: 'hive.pdf',
        bytes: pdf,
        title: 'Life in the Hive',
        spoken: ['Each colony has a single queen.', 'In autumn the workers drive them out of the hive.'],
      },
      {
        name: 'keeping.docx',
        bytes: docx,
        title: 'Keeping Bees',
        spoken: ['A beginner needs one hive, a veil and a smoker.', 'Inspect the hive every week in spring.'],
      },
    ]) {
      const { token, user } = await registerUser(stack, 'podcast-file');
      const upload = await uploadDocument(stack, token, { name: doc.name, bytes: doc.bytes });
      assert.equal(upload.status, 201, JSON.stringify(upload.body));
      const res = await call(stack.url, 'POST', '/v1/podcasts', {
        token,
        body: {
          sourceType: 'file',
          sourceContent: upload.body.id,
          targetDuration: 60,
          language: 'en-US',
          hostVoiceId: 'local-en-female',
          guestVoiceId: 'local-en-male',
        },
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.equal(res.body.podcast.sourceType, 'file');
      assert.ok((await stack.knex('uploads').where({ id: upload.body.id }).first())?.used_at, 'the upload is kept for this podcast');
      const podcast = await expectCompleted(token, user.id, res.body.podcast.id, 0);
      assert.equal(podcast.title, doc.title, "the document's title names an untitled podcast");
      const spoken = podcast.script.map((l: { text: string }) => l.text).join(' ');
      for (const sentence of doc.spoken) assert.ok(spoken.includes(sentence), `${doc.name}: "${sentence}" is spoken in ${spoken}`);
      for (const unwanted of ['Apiculture Quarterly', 'Page 1 of 2', 'Seeley', 'Wisdom of the Hive', 'Crane', 'Prices vary'])
        assert.ok(!spoken.includes(unwanted), `${doc.name}: "${unwanted}" is not read out`);
    }
  });

  it('fails a podcast from a URL serving a scanned PDF with SOURCE_EMPTY, charging nothing', async () => {
    const scan = await imageOnlyPdf();
    const page = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/pdf');
      res.end(scan);
    });
    await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
    try {
      const { token, user } = await registerUser(stack, 'podcast-scan');
      const res = await call(stack.url, 'POST', '/v1/podcasts', {
        token,
        body: {
          sourceType: 'url',
          sourceContent: `http://127.0.0.1:${(page.address() as AddressInfo).port}/scan.pdf`,
          targetDuration: 60,
          hostVoiceId: 'local-en-female',
          guestVoiceId: 'local-en-male',
        },
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const { job } = await pollJob(stack, token, res.body.podcast.id);
      assert.equal(job.status, 'failed');
      assert.equal(job.errorCode, 'SOURCE_EMPTY');
      assert.match(job.errorMessage, /no text layer/);
      const u = await stack.knex('users').where({ id: user.id }).first();
      assert.deepEqual([u?.quota_used, u?.quota_reserved], [0, 0]);
      assert.equal((await stack.knex('usage_logs').where({ user_id: user.id })).length, 0);
    } finally {
      page.close();
    }
  });

  it('turns text into speech as an audio, with one charge', async () => {
    const { token, user } = await registerUser(stack, 'tts');
    const res = await call(stack.url, 'POST', '/v1/audios', {
      token,
      body: { text: 'Hello from AIMake. 你好，欢迎使用。This is a test of text to speech.', voiceId: 'local-en-female', title: 'Greeting' },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.status, 'processing');
    const id = res.body.id;
    let sawProcessing = false;
    let audio: any;
    for (let i = 0; i < 300; i++) {
      const r = await call(stack.url, 'GET', `/v1/audios/${id}`, { token });
      if (r.status === 202) {
        sawProcessing = true;
        assert.equal(r.body.status, 'processing');
      } else {
        audio = r.body;
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(audio, 'the audio finished');
    assert.equal(audio.type, 'tts');
    assert.equal(audio.title, 'Greeting');
    assert.equal(audio.format, 'mp3');
    assert.ok(sawProcessing || audio.duration > 0);
    const file = await downloadedDuration(stack.url + audio.audioUrl, token, 'mp3');
    assert.ok(Math.abs(file.duration - audio.duration) / audio.duration < 0.02, `file ${file.duration}s vs recorded ${audio.duration}s`);
    const usage = await stack.knex('usage_logs').where({ audio_id: id });
    assert.equal(usage.length, 1);
    const u = await stack.knex('users').where({ id: user.id }).first();
    assert.ok(u);
    assert.equal(u.quota_used, Math.ceil(audio.duration));
    assert.equal(u.quota_reserved, 0);
  });
});

describe('text to speech of long text', function () {
  this.timeout(180_000);

  it('splits text beyond the engine limit at sentences, speaks the chunks and stitches one WAV', async () => {
    const stack = await startTestStack();
    const { token, user } = await registerUser(stack, 'tts-long');
    await stack.knex('users').where({ id: user.id }).update({ quota_limit: 5000 });
    const sentence = 'Durable workflows keep long jobs alive through crashes and deploys. ';
    const text = sentence.repeat(Math.ceil(9000 / sentence.length)); // over two 4,000-character chunks
    const res = await call(stack.url, 'POST', '/v1/audios', { token, body: { text, voiceId: 'local-en-male', format: 'wav', speed: 1.5 } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const audio = await eventually(
      async () => {
        const r = await call(stack.url, 'GET', `/v1/audios/${res.body.id}`, { token });
        return r.status === 200 ? r.body : undefined;
      },
      150_000,
      'the audio',
    );
    assert.equal(audio.format, 'wav');
    assert.equal(audio.textLength, text.length);
    const client = await stack.temporal.client();
    const history = await client.workflow.getHandle(`audio-${res.body.id}`).fetchHistory();
    const chunks = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'synthesizeAudioChunk').length;
    assert.equal(chunks, 3);
    const file = await downloadedDuration(stack.url + audio.audioUrl, token, 'wav');
    assert.equal(file.contentType, 'audio/wav');
    assert.ok(Math.abs(file.duration - audio.duration) / audio.duration < 0.02);
    assert.ok(audio.duration > 60, `${audio.duration} s of speech`);
    assert.deepEqual(await stack.storage.deletePrefix(`audios/${res.body.id}/chunks`), 0, 'chunks are removed once stitched');
  });
});

describe('podcast generation with S3-compatible storage', function () {
  this.timeout(180_000);
  let s3: Awaited<ReturnType<typeof startS3Server>>;
  let stack: TestStack;

  before(async () => {
    s3 = await startS3Server();
    const env = { S3_ACCESS_KEY_ID: 'test', S3_SECRET_ACCESS_KEY: 'test', S3_REGION: 'us-east-1' };
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: env.S3_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await client.send(new CreateBucketCommand({ Bucket: 'aimake-test' }));
    client.destroy();
    stack = await startTestStack({ ...env, STORAGE_DRIVER: 's3', S3_BUCKET: 'aimake-test', S3_ENDPOINT: s3.endpoint, S3_FORCE_PATH_STYLE: 'true' });
  });
  after(async () => {
    await stack?.stopWorker();
    await s3?.stop();
  });

  it('stores lines and the podcast in the bucket and serves the file with Range support', async () => {
    const { token } = await registerUser(stack, 's3');
    const res = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: { sourceType: 'text', sourceContent: ARTICLE_ZH_EN, targetDuration: 60, hostVoiceId: 'local-zh-female', guestVoiceId: 'local-zh-male' },
    });
    const { job } = await pollJob(stack, token, res.body.podcast.id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    const row = await stack.knex('podcasts').where({ id: res.body.podcast.id }).first();
    assert.ok(row);
    assert.match(row.audio_url!, /^s3:\/\/aimake-test\//);
    const stat = await stack.storage.stat(stack.storage.keyOf(row.audio_url!));
    assert.ok(stat && stat.bytes > 1000);
    const ranged = await fetch(`${stack.url}/v1/podcasts/${row.id}/file`, { headers: { authorization: `Bearer ${token}`, range: 'bytes=0-99' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 0-99/${stat!.bytes}`);
    assert.equal((await ranged.arrayBuffer()).byteLength, 100);
    const file = await downloadedDuration(`${stack.url}/v1/podcasts/${row.id}/file`, token, 'mp3');
    assert.ok(Math.abs(file.duration - row.duration!) / row.duration! < 0.02);
  });
});
