import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import Koa from 'koa';
import pino from 'pino';
import { errorHandler } from '../../src/api/middleware/errors';
import { parseRange, sendStoredFile } from '../../src/api/sendStoredFile';
import { createLocalStorage, type Storage } from '../../src/storage';
import { call, registerUser } from '../helpers/api';
import { startS3Server } from '../helpers/s3Server';
import { startTestStack, type TestStack } from '../helpers/stack';

/** A real logger whose lines the test can read. */
function recordingLogger() {
  const lines: Array<Record<string, any>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe('sendStoredFile', function () {
  const KEY = 'podcasts/abc/final/episode.mp3';
  const EMPTY_KEY = 'podcasts/abc/final/empty.mp3';
  const data = randomBytes(100_003);
  const size = data.length;
  let dir: string;
  let storage: Storage;
  let server: Server;
  let base: string;
  const log = recordingLogger();

  before(async function () {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'aimake-send-'));
    storage = createLocalStorage(path.join(dir, 'root'));
    const src = path.join(dir, 'src.mp3');
    await fsp.writeFile(src, data);
    await storage.putFile(KEY, src, 'audio/mpeg');
    await fsp.writeFile(src, Buffer.alloc(0));
    await storage.putFile(EMPTY_KEY, src, 'audio/mpeg');

    const app = new Koa();
    // The API's own error handler, so a missing file answers as the API does.
    app.use(errorHandler(log.logger));
    app.use(async (ctx) => {
      const key = ctx.path === '/file' ? KEY : ctx.path === '/empty' ? EMPTY_KEY : 'podcasts/abc/missing.mp3';
      await sendStoredFile(ctx, storage, key, {
        contentType: 'audio/mpeg',
        filename: ctx.query.name === 'utf8' ? 'Épisode "1".mp3' : 'episode.mp3',
        logger: log.logger,
      });
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async function () {
    await new Promise((r) => server?.close(r));
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  const get = async (range?: string, init: RequestInit = {}, p = '/file') => {
    const res = await fetch(base + p, { ...init, headers: { ...(range ? { Range: range } : {}), ...(init.headers ?? {}) } });
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  };

  async function expectPartial(range: string, start: number, end: number) {
    const { res, body } = await get(range);
    assert.equal(res.status, 206, range);
    assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${size}`, range);
    assert.equal(res.headers.get('content-length'), String(end - start + 1), range);
    assert.equal(res.headers.get('content-type'), 'audio/mpeg');
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.ok(body.equals(data.subarray(start, end + 1)), range);
  }

  async function expectWhole(range: string | undefined, init: RequestInit = {}) {
    const { res, body } = await get(range, init);
    assert.equal(res.status, 200, String(range));
    assert.equal(res.headers.get('content-range'), null);
    assert.equal(res.headers.get('content-length'), String(size));
    assert.ok(body.equals(data));
  }

  async function expectUnsatisfiable(range: string, p = '/file', total = size) {
    const { res, body } = await get(range, {}, p);
    assert.equal(res.status, 416, range);
    assert.equal(res.headers.get('content-range'), `bytes */${total}`);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(JSON.parse(body.toString()), {
      error: { code: 'VALIDATION_FAILED', message: 'Requested range not satisfiable' },
    });
  }

  it('serves the whole file with type, length, ranges and disposition headers', async function () {
    const { res, body } = await get();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'audio/mpeg');
    assert.equal(res.headers.get('content-length'), String(size));
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.equal(res.headers.get('content-disposition'), `inline; filename="episode.mp3"; filename*=UTF-8''episode.mp3`);
    assert.ok(body.equals(data));
  });

  it('encodes non-ASCII and quote characters in the filename', async function () {
    const res = await fetch(`${base}/file?name=utf8`);
    await res.arrayBuffer();
    assert.equal(res.headers.get('content-disposition'), `inline; filename="_pisode _1_.mp3"; filename*=UTF-8''%C3%89pisode%20%221%22.mp3`);
  });

  it('serves bytes=a-b', async function () {
    await expectPartial('bytes=10-19', 10, 19);
    await expectPartial('bytes=0-0', 0, 0);
    await expectPartial(`bytes=0-${size - 1}`, 0, size - 1);
    // Past the end is clamped to the last byte.
    await expectPartial(`bytes=${size - 3}-${size + 1000}`, size - 3, size - 1);
  });

  it('serves bytes=a-', async function () {
    await expectPartial('bytes=50000-', 50000, size - 1);
    await expectPartial(`bytes=${size - 1}-`, size - 1, size - 1);
  });

  it('serves bytes=-n', async function () {
    await expectPartial('bytes=-500', size - 500, size - 1);
    // A suffix longer than the file means the whole file.
    await expectPartial(`bytes=-${size + 10}`, 0, size - 1);
  });

  it('answers 416 with Content-Range bytes */size for unsatisfiable ranges', async function () {
    await expectUnsatisfiable(`bytes=${size}-`);
    await expectUnsatisfiable(`bytes=${size + 5}-${size + 10}`);
    await expectUnsatisfiable('bytes=-0');
    await expectUnsatisfiable('bytes=0-', '/empty', 0);
  });

  it('serves the whole file for multiple ranges, malformed ranges, other units and If-Range', async function () {
    await expectWhole('bytes=0-9,20-29');
    await expectWhole('bytes=0-9, -5');
    await expectWhole('bytes=abc');
    await expectWhole('bytes=20-10');
    await expectWhole('bytes=-');
    await expectWhole('items=0-9');
    await expectWhole('bytes=0-9', { headers: { 'If-Range': '"some-etag"' } });
  });

  it('answers HEAD with headers only', async function () {
    const head = await fetch(`${base}/file`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(size));
    assert.equal(head.headers.get('content-type'), 'audio/mpeg');
    assert.equal(head.headers.get('accept-ranges'), 'bytes');
    assert.equal((await head.arrayBuffer()).byteLength, 0);

    const ranged = await fetch(`${base}/file`, { method: 'HEAD', headers: { Range: 'bytes=10-19' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-length'), '10');
    assert.equal(ranged.headers.get('content-range'), `bytes 10-19/${size}`);
    assert.equal((await ranged.arrayBuffer()).byteLength, 0);

    const bad = await fetch(`${base}/file`, { method: 'HEAD', headers: { Range: `bytes=${size}-` } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get('content-range'), `bytes */${size}`);
    assert.equal((await bad.arrayBuffer()).byteLength, 0);
  });

  it('serves an empty file', async function () {
    const { res, body } = await get(undefined, {}, '/empty');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), '0');
    assert.equal(body.length, 0);
  });

  it('answers 404 NOT_FOUND in the API error shape for a missing object, and warns of the loss', async function () {
    for (const method of ['GET', 'HEAD']) {
      log.lines.length = 0;
      const res = await fetch(`${base}/missing`, { method });
      assert.equal(res.status, 404, method);
      if (method === 'GET') assert.deepEqual(await res.json(), { error: { code: 'NOT_FOUND', message: 'The file is missing from storage' } });
      const warnings = log.lines.filter((l) => l.level === 40);
      assert.equal(warnings.length, 1, JSON.stringify(log.lines));
      assert.equal(warnings[0]!.key, 'podcasts/abc/missing.mp3');
      assert.equal(log.lines.filter((l) => l.level >= 50).length, 0, 'not logged as an internal error');
    }
  });

  it('parseRange follows RFC 9110 for edge cases', function () {
    assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRange('BYTES = 5-', 100), { start: 5, end: 99 });
    assert.deepEqual(parseRange('bytes=-1', 100), { start: 99, end: 99 });
    assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
    assert.equal(parseRange('bytes=-5', 0), 'unsatisfiable');
    assert.equal(parseRange('bytes=1-2,3-4', 100), null);
    assert.equal(parseRange('bytes=99999999999999999999-', 100), null);
    assert.equal(parseRange(undefined, 100), null);
  });
});

/**
 * A row that points to a file no longer in storage (deleted by hand, a lost volume, a bucket
 * lifecycle rule): the file routes answer 404, not 500, on either storage driver.
 */
for (const driver of ['local', 's3'] as const) {
  describe(`a stored file gone missing (${driver} storage)`, function () {
    this.timeout(120_000);
    let stack: TestStack;
    let s3: Awaited<ReturnType<typeof startS3Server>> | undefined;

    before(async function () {
      let env: Record<string, string> = {};
      if (driver === 's3') {
        s3 = await startS3Server();
        const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
        const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
        await client.send(new CreateBucketCommand({ Bucket: 'aimake-missing' }));
        client.destroy();
        env = {
          STORAGE_DRIVER: 's3',
          S3_BUCKET: 'aimake-missing',
          S3_ENDPOINT: s3.endpoint,
          S3_FORCE_PATH_STYLE: 'true',
          S3_REGION: 'us-east-1',
          S3_ACCESS_KEY_ID: 'test',
          S3_SECRET_ACCESS_KEY: 'test',
        };
      }
      stack = await startTestStack(env, { worker: false });
    });
    after(async () => s3?.stop());

    /** Puts real bytes at `key` in the stack's storage and returns its URI. */
    async function stored(key: string): Promise<string> {
      const src = path.join(stack.storageDir, 'upload.mp3');
      await fsp.writeFile(src, randomBytes(2048));
      await stack.storage.putFile(key, src, 'audio/mpeg');
      return stack.storage.uri(key);
    }

    async function expectLost(url: string, token: string) {
      const res = await call(stack.url, 'GET', url, { token });
      assert.equal(res.status, 404, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'NOT_FOUND');
      assert.equal(typeof res.body.error.message, 'string');
      const ranged = await fetch(stack.url + url, { headers: { authorization: `Bearer ${token}`, range: 'bytes=0-9' } });
      assert.equal(ranged.status, 404);
      await ranged.arrayBuffer();
    }

    it("GET /v1/podcasts/{id}/file answers 404 when the podcast's file is gone", async function () {
      const { token, user } = await registerUser(stack, `lost-podcast-${driver}`);
      const id = randomUUID();
      const key = `podcasts/${id}/final/podcast.mp3`;
      await stack.knex('podcasts').insert({
        id,
        user_id: user.id,
        title: 'Lost',
        source_type: 'text',
        source_content: 'text',
        status: 'completed',
        audio_url: await stored(key),
        duration: 1,
      });
      const before = await call(stack.url, 'GET', `/v1/podcasts/${id}/file`, { token });
      assert.equal(before.status, 200, 'served while the file is there');

      await stack.storage.delete(key);
      await expectLost(`/v1/podcasts/${id}/file`, token);
    });

    it("GET /v1/audios/{id}/file answers 404 when the audio's file is gone", async function () {
      const { token, user } = await registerUser(stack, `lost-audio-${driver}`);
      const key = `audios/lost-${randomBytes(6).toString('hex')}/audio.mp3`;
      const [audio] = await stack
        .knex('audios')
        .insert({ user_id: user.id, title: 'Lost', text: 'text', text_length: 4, audio_url: await stored(key), audio_format: 'mp3', duration: 1 })
        .returning('id');
      const before = await call(stack.url, 'GET', `/v1/audios/${audio!.id}/file`, { token });
      assert.equal(before.status, 200, 'served while the file is there');

      await stack.storage.delete(key);
      await expectLost(`/v1/audios/${audio!.id}/file`, token);
    });
  });
}
