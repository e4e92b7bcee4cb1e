import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Koa from 'koa';
import { parseRange, sendStoredFile } from '../../src/api/sendStoredFile';
import { createLocalStorage, type Storage } from '../../src/storage';

describe('sendStoredFile', function () {
  const KEY = 'podcasts/abc/final/episode.mp3';
  const EMPTY_KEY = 'podcasts/abc/final/empty.mp3';
  const data = randomBytes(100_003);
  const size = data.length;
  let dir: string;
  let storage: Storage;
  let server: Server;
  let base: string;

  before(async function () {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'aimake-send-'));
    storage = createLocalStorage(path.join(dir, 'root'));
    const src = path.join(dir, 'src.mp3');
    await fsp.writeFile(src, data);
    await storage.putFile(KEY, src, 'audio/mpeg');
    await fsp.writeFile(src, Buffer.alloc(0));
    await storage.putFile(EMPTY_KEY, src, 'audio/mpeg');

    const app = new Koa();
    app.use(async (ctx) => {
      const key = ctx.path === '/file' ? KEY : ctx.path === '/empty' ? EMPTY_KEY : 'podcasts/abc/missing.mp3';
      try {
        await sendStoredFile(ctx, storage, key, {
          contentType: 'audio/mpeg',
          filename: ctx.query.name === 'utf8' ? 'Épisode "1".mp3' : 'episode.mp3',
        });
      } catch (err) {
        // Stands in for the callers' mapping of this error.
        ctx.status = 404;
        ctx.body = { error: { code: 'NOT_FOUND', message: (err as Error).message } };
      }
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

  it('throws "stored object missing: <key>" for a missing object', async function () {
    const { res, body } = await get(undefined, {}, '/missing');
    assert.equal(res.status, 404);
    assert.equal(JSON.parse(body.toString()).error.message, 'stored object missing: podcasts/abc/missing.mp3');
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
