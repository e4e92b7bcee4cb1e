import { jsonb } from '../../src/db';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPodcastActivities } from '../../activities/podcast';
import { DOWNLOAD_CONCURRENCY, localCopies } from '../../activities/speech';
import { probeDuration } from '../../src/audio/ffmpeg';
import { loadConfig } from '../../src/config';
import { providerLanesFor } from '../../src/capacity/providerLanes';
import { createLogger } from '../../src/logger';
import { createProviders } from '../../src/providers';
import { createS3Storage, type Storage } from '../../src/storage';
import { testDatabase } from '../helpers/db';
import { startS3Server } from '../helpers/s3Server';

// A two-hour podcast is about 1,500 spoken lines.
const LINES = 1500;
const SAMPLE_RATE = 8000;
const SAMPLES = 80; // 10 ms

/** A valid 16-bit mono PCM WAV whose samples spell its line number, so order can be checked. */
function tinyWav(line: number): Buffer {
  const data = Buffer.alloc(SAMPLES * 2);
  for (let s = 0; s < SAMPLES; s++) data.writeInt16LE((line % 30000) + s, s * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(SAMPLE_RATE, 24);
  h.writeUInt32LE(SAMPLE_RATE * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

describe('stitching a two-hour podcast from S3-compatible storage', function () {
  this.timeout(180_000);
  let s3: Awaited<ReturnType<typeof startS3Server>>;
  let storage: Storage;
  let work: string;
  const podcastId = randomUUID();
  const keys = Array.from({ length: LINES }, (_, i) => `podcasts/${podcastId}/segments/${String(i).padStart(5, '0')}-line.wav`);

  before(async () => {
    s3 = await startS3Server();
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await client.send(new CreateBucketCommand({ Bucket: 'aimake-stitch' }));
    client.destroy();
    storage = createS3Storage({ bucket: 'aimake-stitch', endpoint: s3.endpoint, region: 'us-east-1', accessKeyId: 'test', secretAccessKey: 'test' });
    work = await fsp.mkdtemp(path.join(os.tmpdir(), 'aimake-stitch-s3-'));
    const sources = path.join(work, 'sources');
    await fsp.mkdir(sources);
    for (let from = 0; from < LINES; from += 20) {
      await Promise.all(
        keys.slice(from, from + 20).map(async (key, n) => {
          const file = path.join(sources, `${from + n}.wav`);
          await fsp.writeFile(file, tinyWav(from + n));
          await storage.putFile(key, file, 'audio/wav');
        }),
      );
    }
  });
  after(async () => {
    await s3?.stop();
    if (work) await fsp.rm(work, { recursive: true, force: true });
  });

  /** The real S3 storage, counting how many downloads run at once. */
  function countingDownloads() {
    const seen = { inFlight: 0, maxInFlight: 0, calls: 0 };
    const counted: Storage = {
      ...storage,
      async getFile(key, file) {
        seen.calls++;
        seen.maxInFlight = Math.max(seen.maxInFlight, ++seen.inFlight);
        try {
          await storage.getFile(key, file);
        } finally {
          seen.inFlight--;
        }
      },
    };
    return { counted, seen };
  }

  it('downloads the lines several at a time, in order, reporting progress as they arrive', async () => {
    const { counted, seen } = countingDownloads();
    const dir = await fsp.mkdtemp(path.join(work, 'copies-'));
    const progress: Array<{ downloaded: number; total: number; inFlight: number }> = [];
    const started = Date.now();
    const paths = await localCopies(counted, keys, dir, {
      onProgress: (downloaded, total) => progress.push({ downloaded, total, inFlight: seen.inFlight }),
    });
    const seconds = (Date.now() - started) / 1000;

    assert.equal(paths.length, LINES);
    for (const [i, p] of paths.entries()) assert.ok((await fsp.readFile(p)).equals(tinyWav(i)), `line ${i} is in its place`);
    assert.equal(seen.calls, LINES, 'each line downloaded once');
    assert.ok(seen.maxInFlight > 1, `downloads run in parallel (at most ${seen.maxInFlight} at once, ${seconds}s)`);
    assert.ok(seen.maxInFlight <= DOWNLOAD_CONCURRENCY, `at most ${DOWNLOAD_CONCURRENCY} at once, saw ${seen.maxInFlight}`);
    assert.deepEqual(
      progress.map((p) => p.downloaded),
      Array.from({ length: LINES }, (_, i) => i + 1),
      'every download is reported as it lands',
    );
    assert.ok(
      progress.every((p) => p.total === LINES),
      'out of all the lines',
    );
    assert.ok(progress.filter((p) => p.inFlight > 0).length > LINES / 2, 'reported while other downloads are still running');
  });

  it('heartbeats through the download phase of the stitch activity, then stitches every line', async () => {
    const { knex } = await testDatabase();
    const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
    const logger = createLogger('silent');
    const activities = createPodcastActivities({ knex, storage, config, logger, providers: createProviders(config) }, providerLanesFor(knex, config, logger));
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const segments = keys.map((key, index) => ({ index, key, duration: SAMPLES / SAMPLE_RATE, chars: 10, provider: 'local', apiCost: null }));
    // The podcast the lines belong to: one voice throughout, so every pause is the same speaker's.
    const [user] = await knex('users')
      .insert({ email: `stitch-${randomUUID()}@example.test` })
      .returning('id');
    const script = keys.map((_, i) => ({ role: 'host' as const, text: `Line ${i + 1}.`, voice_id: 'local-en-female' }));
    await knex('podcasts').insert({
      id: podcastId,
      user_id: user!.id,
      source_type: 'text',
      source_content: 'Lines.',
      target_duration: 7200,
      language: 'en-US',
      host_voice_id: 'local-en-female',
      guest_voice_id: 'local-en-male',
      status: 'processing',
      script: jsonb(knex, script),
    });

    const result: Awaited<ReturnType<typeof activities.stitchPodcast>> = await env.run(() =>
      activities.stitchPodcast({ podcastId, jobId: randomUUID(), segments }),
    );

    const downloadBeats = beats.filter((b): b is { downloaded: number; total: number } => typeof b === 'object' && b !== null && 'downloaded' in b);
    const firstStitchBeat = beats.findIndex((b) => typeof b === 'object' && b !== null && 'fraction' in b);
    assert.ok(downloadBeats.length >= 100, `heartbeats while downloading (${downloadBeats.length})`);
    assert.deepEqual(downloadBeats.at(-1), { downloaded: LINES, total: LINES });
    assert.ok(firstStitchBeat > beats.indexOf(downloadBeats.at(-1)), 'downloads finish before ffmpeg starts');

    const out = path.join(work, 'podcast.mp3');
    await storage.getFile(result.key, out);
    // Every line plus the 200 ms pause after all but the last one.
    const expected = LINES * (SAMPLES / SAMPLE_RATE) + (LINES - 1) * 0.2;
    const duration = await probeDuration(out);
    assert.ok(Math.abs(duration - expected) / expected < 0.02, `${duration}s stitched, ${expected}s expected`);
  });
});
