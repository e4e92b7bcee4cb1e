import { documentText, sourceDocument } from '../../src/sources/markdown';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { isAllowedAddress, isPublicAddress, literalAddress } from '../../src/sources/ssrf';
import { SourceError } from '../../src/sources/errors';
import { fetchReadableText, type ResolvedAddress } from '../../src/sources/url';
import { imageOnlyPdf, makePdf } from '../helpers/documents';

// ---------------------------------------------------------------------------
// Helpers

interface TestServer {
  base: string;
  port: number;
  /** Requests that reached the handler. */
  requests: http.IncomingMessage[];
  /** Peer address of each request. */
  remotes: string[];
  /** TCP connections accepted, whether or not a request followed. */
  connections: number;
  close(): Promise<void>;
}

async function startServer(handler: http.RequestListener): Promise<TestServer> {
  const requests: http.IncomingMessage[] = [];
  const remotes: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    requests.push(req);
    remotes.push(req.socket.remoteAddress ?? '');
    handler(req, res);
  });
  const state: TestServer = {
    base: '',
    port: 0,
    requests,
    remotes,
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  server.on('connection', (socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.base = `http://127.0.0.1:${state.port}`;
  return state;
}

async function expectSourceError(p: Promise<unknown>, code: string): Promise<SourceError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SourceError, `expected SourceError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    assert.ok(!/\n\s+at /.test(err.message), 'message must not contain a stack trace');
    return err;
  }
  assert.fail(`expected ${code}, but the fetch succeeded`);
}

// ---------------------------------------------------------------------------
// Connection guard. While the url tests run, every outgoing TCP connect is
// logged, and any attempt that could leave the machine (a non-loopback
// literal, a name without a pinned lookup hook, or a lookup answer that is not
// loopback) is failed instead of made. Even a regression in the code under
// test therefore cannot send traffic off loopback.

const LOOPBACK_IP = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/i;
const connectLog: string[] = [];
let originalConnect: typeof net.Socket.prototype.connect | null = null;

function installConnectGuard(): void {
  const original = net.Socket.prototype.connect;
  originalConnect = original;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const first = args[0];
    const opts = (Array.isArray(first) ? first[0] : first) as { host?: string; port?: number; lookup?: unknown } | undefined;
    const host = typeof opts === 'object' && opts ? (opts.host ?? '') : '';
    connectLog.push(`${host}:${opts?.port ?? ''}`);
    const block = (what: string) => {
      process.nextTick(() => this.destroy(new Error(`test guard blocked a connection to ${what}`)));
      return this;
    };
    if (net.isIP(host) !== 0) {
      if (!LOOPBACK_IP.test(host)) return block(host);
    } else if (typeof opts?.lookup === 'function') {
      const inner = opts.lookup as net.LookupFunction;
      const guarded: net.LookupFunction = (h, o, cb) =>
        inner(h, o, (err, address, family) => {
          const list = Array.isArray(address) ? address.map((a) => a.address) : [address];
          if (!err && list.some((a) => !LOOPBACK_IP.test(a))) {
            return cb(new Error(`test guard blocked ${h} -> ${list.join(',')}`), address, family);
          }
          cb(err, address, family);
        });
      opts.lookup = guarded;
    } else {
      return block(host || String(first));
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof original;
}

function removeConnectGuard(): void {
  if (originalConnect) net.Socket.prototype.connect = originalConnect;
  originalConnect = null;
}

/** Runs `fn` and returns its outcome with the connect attempts it made. */
async function recordConnects<T>(fn: () => Promise<T>): Promise<{ result: PromiseSettledResult<T>; targets: string[] }> {
  connectLog.length = 0;
  const [result] = await Promise.allSettled([fn()]);
  return { result, targets: connectLog.splice(0) };
}

const ARTICLE_HTML = `<!doctype html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <title>人工智能与播客的未来</title>
  <style>.nav { color: red } body { STYLEJUNK: 1 }</style>
  <script>var SCRIPTJUNK = "do not read me";</script>
</head>
<body>
  <nav class="nav"><a href="/">首页</a> | <a href="/about">关于我们 NAVJUNK</a> | <a href="/login">登录</a></nav>
  <div id="sidebar" class="sidebar"><ul><li><a href="/x">Related SIDEBARJUNK link</a></li></ul></div>
  <article>
    <h1>人工智能与播客的未来</h1>
    <p>人工智能正在深刻地改变内容创作的方式。过去需要一个团队花费数天才能完成的播客节目，现在只需要几分钟就可以生成。这种变化让更多的人能够分享自己的想法和故事，也让小众话题找到了属于自己的听众。</p>
    <p>Artificial intelligence is reshaping how audio content gets made. A show that once took a team several days to record and edit can now be drafted in minutes, which lowers the barrier for independent creators who have something to say but no studio to say it in.</p>
    <p>当然，技术进步也带来了新的问题。如何保证内容的准确性？如何尊重原作者的版权？这些问题需要整个行业一起思考，而不是交给算法自己决定。</p>
    <p>Quality still matters. Listeners notice when a voice sounds flat or when a script wanders, so the best tools keep a human in the loop and treat the machine as a collaborator rather than a replacement for editorial judgement.</p>
    <script>document.write("INLINESCRIPTJUNK")</script>
  </article>
  <footer class="footer">Copyright 2024 FOOTERJUNK. All rights reserved.</footer>
</body>
</html>`;

// "你好世界，中文网页。" in GBK.
const GBK_BYTES = Buffer.from([0xc4, 0xe3, 0xba, 0xc3, 0xca, 0xc0, 0xbd, 0xe7, 0xa3, 0xac, 0xd6, 0xd0, 0xce, 0xc4, 0xcd, 0xf8, 0xd2, 0xb3, 0xa1, 0xa3]);

const LOOPBACK = { allowLoopback: true } as const;

// ---------------------------------------------------------------------------

describe('sources/ssrf', () => {
  it('treats only plain unicast as public', () => {
    for (const ip of ['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '2001:4860:4860::8888']) {
      assert.equal(isPublicAddress(ip), true, ip);
    }
    const refused = [
      '127.0.0.1',
      '127.255.255.254',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '240.0.0.1',
      '192.0.2.1',
      '198.18.0.1',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'fd12:3456::1',
      'ff02::1',
      '2002:c0a8:101::1',
      '2001:0:4136:e378::1',
      '64:ff9b::a00:1',
      '2001:db8::1',
      '::ffff:10.0.0.1',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
      'not-an-ip',
      '',
      'fe80::1%eth0',
    ];
    for (const ip of refused) assert.equal(isPublicAddress(ip), false, ip);
    assert.equal(isPublicAddress('::ffff:8.8.8.8'), true, 'mapped public IPv4 is judged as its IPv4');
  });

  it('lets allowLoopback widen to loopback only', () => {
    assert.equal(isAllowedAddress('127.0.0.1', { allowLoopback: true }), true);
    assert.equal(isAllowedAddress('::1', { allowLoopback: true }), true);
    assert.equal(isAllowedAddress('::ffff:127.0.0.1', { allowLoopback: true }), true);
    for (const ip of ['10.0.0.1', '169.254.169.254', '192.168.0.1', '100.64.0.1', '0.0.0.0', 'fc00::1']) {
      assert.equal(isAllowedAddress(ip, { allowLoopback: true }), false, ip);
    }
    assert.equal(isAllowedAddress('127.0.0.1'), false);
  });

  it('recognises literal hosts in odd forms, as URL parsing leaves them', () => {
    const cases: Array<[string, string]> = [
      ['http://2130706433/', '127.0.0.1'],
      ['http://0177.0.0.1/', '127.0.0.1'],
      ['http://0x7f.0.0.1/', '127.0.0.1'],
      ['http://127.1/', '127.0.0.1'],
      ['http://127.0.0.1./', '127.0.0.1'],
      ['http://[::1]/', '::1'],
      ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ];
    for (const [url, expected] of cases) {
      const host = new URL(url).hostname;
      assert.equal(literalAddress(host), expected, url);
    }
    // Also when a hostname never went through WHATWG parsing.
    assert.equal(literalAddress('0177.0.0.1'), '127.0.0.1');
    assert.equal(literalAddress('2130706433'), '127.0.0.1');
    assert.equal(literalAddress('example.com'), null);
    assert.equal(literalAddress('localhost'), null);
  });
});

describe('sources/url fetchReadableText', () => {
  before(installConnectGuard);
  after(removeConnectGuard);

  it('the connection guard itself blocks non-loopback targets', async () => {
    const err = await new Promise<Error>((resolve) => {
      const socket = net.connect({ host: '10.0.0.1', port: 80 });
      socket.once('error', resolve);
    });
    assert.match(err.message, /test guard blocked a connection to 10\.0\.0\.1/);
  });

  const servers: TestServer[] = [];
  async function serve(handler: http.RequestListener): Promise<TestServer> {
    const s = await startServer(handler);
    servers.push(s);
    return s;
  }
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  describe('content', () => {
    it('extracts a readable HTML article without navigation or script junk', async () => {
      const srv = await serve((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(ARTICLE_HTML);
      });
      const out = await fetchReadableText(`${srv.base}/post/1?x=1`, LOOPBACK);
      assert.equal(out.title, '人工智能与播客的未来');
      assert.equal(out.finalUrl, `${srv.base}/post/1?x=1`);
      assert.equal(out.bytes, Buffer.byteLength(ARTICLE_HTML));
      assert.match(out.text, /人工智能正在深刻地改变内容创作的方式。/);
      assert.match(out.text, /Artificial intelligence is reshaping how audio content gets made\./);
      assert.match(out.text, /这些问题需要整个行业一起思考，而不是交给算法自己决定。/);
      assert.match(out.text, /rather than a replacement for editorial judgement\./);
      for (const junk of ['NAVJUNK', 'SCRIPTJUNK', 'INLINESCRIPTJUNK', 'STYLEJUNK', 'SIDEBARJUNK', 'document.write']) {
        assert.ok(!out.text.includes(junk), `text should not contain ${junk}`);
      }
      // Paragraphs stay separate and in order.
      const paras = out.text.split('\n\n');
      const zh = paras.findIndex((p) => p.startsWith('人工智能正在'));
      const en = paras.findIndex((p) => p.startsWith('Artificial intelligence'));
      assert.ok(zh >= 0 && en === zh + 1, JSON.stringify(paras));
      assert.equal(srv.requests[0]!.headers.host, `127.0.0.1:${srv.port}`);
      assert.match(String(srv.requests[0]!.headers['user-agent']), /AIMake/);
    });

    it('keeps headings as sections and drops captions, tables, code, footnote marks and reference lists', async () => {
      const para = (n: number) => `<p>Paragraph ${n} tells the story of radio in some detail, with enough words to count as article text for the reader.</p>`;
      const html =
        '<html><head><title>Radio</title></head><body><article><h1>A history of radio</h1>' +
        `<h2>Early days</h2>${para(1)}<figure><img src="a.png"><figcaption>CAPTIONJUNK a transmitter</figcaption></figure>` +
        `<p>Marconi sent a signal<sup class="reference"><a href="#cite-1">[1]</a></sup> across the sea in 1901.</p>${para(2)}` +
        `<h2>Golden age</h2>${para(3)}<table><caption>Sets sold</caption><thead><tr><th>Year</th><th>TABLEJUNK</th></tr></thead><tbody><tr><td>1920</td><td>5</td></tr><tr><td>1930</td><td>12</td></tr></tbody></table><pre>CODEJUNK()</pre>${para(4)}` +
        '<h2>References</h2><ol class="references"><li id="cite-1">REFJUNK Smith 1999</li></ol><p>REFJUNK see also</p>' +
        '</article></body></html>';
      const srv = await serve((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(html);
      });
      const out = await fetchReadableText(`${srv.base}/radio`, LOOPBACK);
      const doc = sourceDocument(out.text);
      assert.deepEqual(
        doc.sections.map((x) => x.title),
        ['Early days', 'Golden age'],
      );
      const text = documentText(doc);
      assert.match(text, /Marconi sent a signal across the sea in 1901\./);
      for (const junk of ['CAPTIONJUNK', 'TABLEJUNK', 'CODEJUNK', 'REFJUNK', '[1]']) assert.ok(!text.includes(junk), `text should not contain ${junk}`);
    });

    it('falls back to body text when Readability finds no article', async () => {
      const srv = await serve((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/xhtml+xml' });
        // Readability gives up on a page whose only text is an <aside>.
        res.end(
          '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Tiny</title></head><body>' +
            '<nav>NAVJUNK</nav><div hidden="">HIDDENJUNK</div><div style="display: none">HIDDENJUNK</div>' +
            '<aside><p>Only this aside.</p><p>And its second paragraph.</p></aside><script>SCRIPTJUNK()</script></body></html>',
        );
      });
      const out = await fetchReadableText(`${srv.base}/`, LOOPBACK);
      assert.equal(out.text, 'Only this aside.\n\nAnd its second paragraph.');
      assert.equal(out.title, 'Tiny');
    });

    it('returns plain text as is (normalised), with no title', async () => {
      const body = 'First line.\r\n\r\n\r\n\r\nSecond   line\u0000 here.\r\n';
      const srv = await serve((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end(body);
      });
      const out = await fetchReadableText(`${srv.base}/a.txt`, LOOPBACK);
      assert.deepEqual(out, { title: null, text: 'First line.\n\nSecond line here.', finalUrl: `${srv.base}/a.txt`, bytes: Buffer.byteLength(body) });
    });

    it('decodes the charset from Content-Type (gbk)', async () => {
      const srv = await serve((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=GBK' });
        res.end(GBK_BYTES);
      });
      const out = await fetchReadableText(`${srv.base}/`, LOOPBACK);
      assert.equal(out.text, '你好世界，中文网页。');
      assert.equal(out.bytes, GBK_BYTES.length);
    });

    it('uses <meta charset> when the header has none', async () => {
      const html = Buffer.concat([
        Buffer.from('<html><head><meta charset="gb18030"><title>t</title></head><body><p>'),
        GBK_BYTES,
        Buffer.from('</p></body></html>'),
      ]);
      const srv = await serve((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end(html);
      });
      const out = await fetchReadableText(`${srv.base}/`, LOOPBACK);
      assert.equal(out.text, '你好世界，中文网页。');
    });

    it('decompresses gzip, br and deflate and counts decompressed bytes', async () => {
      const body = 'Compressed words. '.repeat(200).trim();
      const encoders: Record<string, (b: Buffer) => Buffer> = {
        gzip: zlib.gzipSync,
        br: zlib.brotliCompressSync,
        deflate: zlib.deflateSync,
      };
      const srv = await serve((req, res) => {
        const enc = req.url!.slice(1);
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Encoding': enc });
        res.end(encoders[enc]!(Buffer.from(body)));
      });
      for (const enc of Object.keys(encoders)) {
        const out = await fetchReadableText(`${srv.base}/${enc}`, LOOPBACK);
        assert.equal(out.text, body, enc);
        assert.equal(out.bytes, Buffer.byteLength(body), enc);
      }
      assert.match(String(srv.requests[0]!.headers['accept-encoding']), /gzip/);
    });

    it('reports a corrupt compressed body as a non-retryable failure', async () => {
      const srv = await serve((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Encoding': 'gzip' });
        res.end(Buffer.from('this is not gzip at all'));
      });
      const err = await expectSourceError(fetchReadableText(`${srv.base}/`, LOOPBACK), 'SOURCE_FETCH_FAILED');
      assert.equal(err.retryable, false);
      assert.match(err.message, /decompressed/);
    });

    it('rejects unsupported content types and empty pages', async () => {
      const srv = await serve((req, res) => {
        if (req.url === '/zip') {
          res.writeHead(200, { 'Content-Type': 'application/zip' });
          res.end('PK\x03\x04');
        } else if (req.url === '/none') {
          res.end('no type');
        } else {
          res.writeHead(200, { 'Content-Type': 'text/html' });
          res.end('<html><head><title>Empty</title><script>var x = 1;</script></head><body>  </body></html>');
        }
      });
      await expectSourceError(fetchReadableText(`${srv.base}/zip`, LOOPBACK), 'SOURCE_UNSUPPORTED_TYPE');
      const none = await expectSourceError(fetchReadableText(`${srv.base}/none`, LOOPBACK), 'SOURCE_UNSUPPORTED_TYPE');
      assert.equal(none.retryable, false);
      await expectSourceError(fetchReadableText(`${srv.base}/empty`, LOOPBACK), 'SOURCE_EMPTY');
    });
  });

  describe('PDF', () => {
    it('reads a page served as application/pdf as a PDF: its text, its title, without its page furniture', async () => {
      const pdf = await makePdf([['A river runs through the valley.'], ['It reaches the sea at last.']], {
        title: 'The River',
        runningHead: 'Geography Weekly',
        footer: (n) => String(n),
      });
      const srv = await serve((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/pdf' });
        res.end(pdf);
      });
      const out = await fetchReadableText(`${srv.base}/paper.pdf`, LOOPBACK);
      assert.deepEqual(out, {
        title: 'The River',
        text: 'A river runs through the valley.\n\nIt reaches the sea at last.',
        finalUrl: `${srv.base}/paper.pdf`,
        bytes: pdf.length,
      });
      assert.match(String(srv.requests[0]!.headers.accept), /application\/pdf/);
    });

    it('reports a scanned PDF as empty and a broken one as unreadable, neither retryable', async () => {
      const scan = await imageOnlyPdf();
      const srv = await serve((req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/pdf' });
        res.end(req.url === '/scan.pdf' ? scan : '%PDF-1.4 truncated');
      });
      const empty = await expectSourceError(fetchReadableText(`${srv.base}/scan.pdf`, LOOPBACK), 'SOURCE_EMPTY');
      assert.match(empty.message, /no text layer/);
      const broken = await expectSourceError(fetchReadableText(`${srv.base}/broken.pdf`, LOOPBACK), 'SOURCE_UNREADABLE');
      assert.equal(broken.retryable, false);
    });
  });

  describe('HTTP behaviour', () => {
    it('follows a redirect chain, re-requesting each hop, up to maxRedirects', async () => {
      // /hop/N redirects to /hop/N-1 (alternating status codes and relative/absolute targets) until /hop/0.
      const statuses = [301, 302, 303, 307, 308];
      const srv = await serve((req, res) => {
        const n = Number(req.url!.split('/')[2]);
        if (n === 0) {
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          res.end('Arrived.');
          return;
        }
        const location = n % 2 ? `/hop/${n - 1}` : `http://127.0.0.1:${srv.port}/hop/${n - 1}`;
        res.writeHead(statuses[n % statuses.length]!, { Location: location });
        res.end();
      });

      const ok = await fetchReadableText(`${srv.base}/hop/3`, { ...LOOPBACK, maxRedirects: 3 });
      assert.equal(ok.text, 'Arrived.');
      assert.equal(ok.finalUrl, `${srv.base}/hop/0`);
      assert.deepEqual(
        srv.requests.map((r) => r.url),
        ['/hop/3', '/hop/2', '/hop/1', '/hop/0'],
      );

      srv.requests.length = 0;
      const err = await expectSourceError(fetchReadableText(`${srv.base}/hop/3`, { ...LOOPBACK, maxRedirects: 2 }), 'SOURCE_TOO_MANY_REDIRECTS');
      assert.equal(err.retryable, false);
      // Two redirects followed; the third was received but not followed.
      assert.deepEqual(
        srv.requests.map((r) => r.url),
        ['/hop/3', '/hop/2', '/hop/1'],
      );

      // The default limit is 5.
      await fetchReadableText(`${srv.base}/hop/5`, LOOPBACK);
      await expectSourceError(fetchReadableText(`${srv.base}/hop/6`, LOOPBACK), 'SOURCE_TOO_MANY_REDIRECTS');
    });

    it('refuses a redirect to a non-http scheme', async () => {
      const srv = await serve((_req, res) => {
        res.writeHead(302, { Location: 'file:///etc/passwd' });
        res.end();
      });
      await expectSourceError(fetchReadableText(`${srv.base}/`, LOOPBACK), 'SOURCE_INVALID_URL');
    });

    it('maps HTTP errors, retryable only for 5xx and 429', async () => {
      const srv = await serve((req, res) => {
        res.writeHead(Number(req.url!.slice(1)), { 'Content-Type': 'text/plain' });
        res.end('error page');
      });
      for (const [status, retryable] of [
        [404, false],
        [403, false],
        [429, true],
        [500, true],
        [503, true],
      ] as const) {
        const err = await expectSourceError(fetchReadableText(`${srv.base}/${status}`, LOOPBACK), 'SOURCE_HTTP_ERROR');
        assert.equal(err.retryable, retryable, String(status));
        assert.equal(err.status, status);
        assert.match(err.message, new RegExp(`HTTP ${status}`));
      }
    });

    it('refuses an oversize streamed body (no Content-Length) once it passes maxBytes', async () => {
      let sent = 0;
      const srv = await serve((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        const chunk = Buffer.alloc(16 * 1024, 'a');
        // Keep streaming until the client hangs up.
        const pump = () => {
          while (!res.destroyed && sent < 50 * 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) return res.once('drain', pump);
          }
          res.end();
        };
        pump();
      });
      const err = await expectSourceError(fetchReadableText(`${srv.base}/`, { ...LOOPBACK, maxBytes: 100 * 1024 }), 'SOURCE_TOO_LARGE');
      assert.equal(err.retryable, false);
      assert.equal(srv.requests[0]!.headers['content-length'], undefined);
      assert.ok(sent < 50 * 1024 * 1024, 'client must stop reading early');
    });

    it('refuses early by Content-Length, before the body arrives', async () => {
      const srv = await serve((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(10 * 1024 * 1024) });
        res.write('x'); // ...and never finishes
      });
      const started = Date.now();
      await expectSourceError(fetchReadableText(`${srv.base}/`, { ...LOOPBACK, maxBytes: 1024 * 1024, timeoutMs: 5000 }), 'SOURCE_TOO_LARGE');
      assert.ok(Date.now() - started < 2000);
    });

    it('counts decompressed bytes toward the cap (gzip bomb)', async () => {
      const bomb = zlib.gzipSync(Buffer.alloc(4 * 1024 * 1024, 'a'));
      assert.ok(bomb.length < 64 * 1024);
      const srv = await serve((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Encoding': 'gzip', 'Content-Length': String(bomb.length) });
        res.end(bomb);
      });
      await expectSourceError(fetchReadableText(`${srv.base}/`, { ...LOOPBACK, maxBytes: 256 * 1024 }), 'SOURCE_TOO_LARGE');
    });

    it('times out a server that never answers, and one that stalls mid-body', async () => {
      const srv = await serve((req, res) => {
        if (req.url === '/stall') {
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          res.write('partial ');
        }
        // otherwise: never respond
      });
      for (const path of ['/silent', '/stall']) {
        const started = Date.now();
        const err = await expectSourceError(fetchReadableText(`${srv.base}${path}`, { ...LOOPBACK, timeoutMs: 200 }), 'SOURCE_TIMEOUT');
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 190 && elapsed < 2000, `${path} took ${elapsed} ms`);
        assert.equal(err.retryable, true);
      }
    });

    it('reports a refused connection as a retryable fetch failure', async () => {
      const srv = await serve(() => undefined);
      const port = srv.port;
      await srv.close();
      servers.length = 0;
      const err = await expectSourceError(fetchReadableText(`http://127.0.0.1:${port}/`, LOOPBACK), 'SOURCE_FETCH_FAILED');
      assert.equal(err.retryable, true);
      assert.match(err.message, /ECONNREFUSED/);
    });

    it("rethrows the caller's abort reason", async () => {
      const srv = await serve(() => undefined);
      const controller = new AbortController();
      const reason = new Error('cancelled by test');
      setTimeout(() => controller.abort(reason), 50);
      await assert.rejects(fetchReadableText(`${srv.base}/`, { ...LOOPBACK, signal: controller.signal }), (e) => e === reason);
    });

    it('rejects invalid URLs', async () => {
      for (const bad of ['not a url', 'ftp://example.com/file', 'file:///etc/passwd', 'http://user:pass@example.com/', 'javascript:alert(1)']) {
        await expectSourceError(fetchReadableText(bad), 'SOURCE_INVALID_URL');
      }
    });
  });

  describe('address policy', () => {
    it('refuses loopback, private and metadata addresses in every form under default options, before connecting', async () => {
      const srv = await serve((_req, res) => res.end('should never be reached'));
      const p = srv.port;
      const urls = [
        `http://127.0.0.1:${p}/`,
        `http://localhost:${p}/`,
        `http://LOCALHOST.:${p}/`,
        `http://foo.localhost:${p}/`,
        `http://[::1]:${p}/`,
        `http://2130706433:${p}/`,
        `http://0177.0.0.1:${p}/`,
        `http://0x7f.0.0.1:${p}/`,
        `http://127.1:${p}/`,
        `http://[::ffff:127.0.0.1]:${p}/`,
        `http://0.0.0.0:${p}/`,
        'http://2130706433/',
        'http://0177.0.0.1/',
        'http://[::ffff:127.0.0.1]/',
        'http://10.0.0.1/',
        'http://169.254.169.254/latest/meta-data/',
        'http://[fd00::1]/',
        'http://100.64.0.1/',
        'http://192.168.1.1:8080/',
      ];
      let lookups = 0;
      const lookup = async (): Promise<ResolvedAddress[]> => {
        lookups++;
        return [{ address: '93.184.216.34', family: 4 }];
      };
      for (const url of urls) {
        const { result, targets } = await recordConnects(() => fetchReadableText(url, { lookup }));
        assert.equal(result.status, 'rejected', url);
        const err = (result as PromiseRejectedResult).reason;
        assert.ok(err instanceof SourceError && err.code === 'SOURCE_FORBIDDEN_ADDRESS', `${url}: ${String(err)}`);
        assert.deepEqual(targets, [], `${url} must not be connected to`);
      }
      assert.equal(lookups, 0, 'literal and localhost hosts must not go to DNS');
      assert.equal(srv.connections, 0);
      assert.equal(srv.requests.length, 0);
    });

    it('refuses a name that resolves to a private address (injected lookup), without connecting', async () => {
      const asked: string[] = [];
      const lookup = async (hostname: string): Promise<ResolvedAddress[]> => {
        asked.push(hostname);
        return [{ address: '10.0.0.1', family: 4 }];
      };
      const { result, targets } = await recordConnects(() => fetchReadableText('http://intranet.example.test/secret', { lookup }));
      assert.equal(result.status, 'rejected');
      const err = (result as PromiseRejectedResult).reason as SourceError;
      assert.equal(err.code, 'SOURCE_FORBIDDEN_ADDRESS');
      assert.match(err.message, /10\.0\.0\.1/);
      assert.deepEqual(asked, ['intranet.example.test']);
      assert.deepEqual(targets, []);
    });

    it('refuses when ANY resolved address is disallowed, even with allowLoopback', async () => {
      const srv = await serve((_req, res) => res.end('nope'));
      const lookup = async (): Promise<ResolvedAddress[]> => [
        { address: '127.0.0.1', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ];
      await expectSourceError(fetchReadableText(`http://mixed.example.test:${srv.port}/`, { ...LOOPBACK, lookup }), 'SOURCE_FORBIDDEN_ADDRESS');
      assert.equal(srv.connections, 0);
    });

    it('allowLoopback does not open private or metadata ranges', async () => {
      for (const url of ['http://10.0.0.1/', 'http://169.254.169.254/latest/meta-data/', 'http://[fc00::1]/']) {
        const { result, targets } = await recordConnects(() => fetchReadableText(url, LOOPBACK));
        assert.equal(result.status, 'rejected');
        assert.equal(((result as PromiseRejectedResult).reason as SourceError).code, 'SOURCE_FORBIDDEN_ADDRESS', url);
        assert.deepEqual(targets, [], url);
      }
    });

    it('refuses a redirect hop to a private or metadata address, without connecting to it', async () => {
      const srv = await serve((req, res) => {
        const target = req.url === '/to-metadata' ? 'http://169.254.169.254/latest/meta-data/' : 'http://10.0.0.1/admin';
        res.writeHead(302, { Location: target });
        res.end();
      });
      for (const path of ['/to-private', '/to-metadata']) {
        const { result, targets } = await recordConnects(() => fetchReadableText(`${srv.base}${path}`, LOOPBACK));
        assert.equal(result.status, 'rejected', path);
        const err = (result as PromiseRejectedResult).reason as SourceError;
        assert.equal(err.code, 'SOURCE_FORBIDDEN_ADDRESS', path);
        // Only the first hop (the loopback server) was contacted.
        assert.deepEqual(targets, [`127.0.0.1:${srv.port}`], path);
      }
      assert.equal(srv.requests.length, 2);
    });

    it('connects named hosts to exactly the checked address (no second lookup, so no rebinding)', async () => {
      const srv = await serve((req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end(`host=${req.headers.host}`);
      });
      let calls = 0;
      // A rebinding resolver: safe the first time, private afterwards.
      const lookup = async (hostname: string): Promise<ResolvedAddress[]> => {
        calls++;
        assert.equal(hostname, 'rebind.example.test');
        return calls === 1 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.0.0.1', family: 4 }];
      };
      const { result, targets } = await recordConnects(() => fetchReadableText(`http://rebind.example.test:${srv.port}/page`, { ...LOOPBACK, lookup }));
      assert.equal(result.status, 'fulfilled', String((result as PromiseRejectedResult).reason));
      const out = (result as PromiseFulfilledResult<Awaited<ReturnType<typeof fetchReadableText>>>).value;
      assert.equal(out.text, `host=rebind.example.test:${srv.port}`);
      assert.equal(out.finalUrl, `http://rebind.example.test:${srv.port}/page`);
      assert.equal(calls, 1);
      assert.equal(srv.requests.length, 1);
      // Node connects through the pinned lookup hook: one connection, made to the checked address.
      assert.deepEqual(targets, [`rebind.example.test:${srv.port}`]);
      assert.deepEqual(srv.remotes, ['127.0.0.1']);
    });

    it('checks literal IPs without calling the lookup hook', async () => {
      const srv = await serve((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('literal ok');
      });
      let calls = 0;
      const lookup = async (): Promise<ResolvedAddress[]> => {
        calls++;
        return [{ address: '10.0.0.1', family: 4 }];
      };
      const out = await fetchReadableText(`http://2130706433:${srv.port}/`, { ...LOOPBACK, lookup });
      assert.equal(out.text, 'literal ok');
      assert.equal(calls, 0);
      assert.equal(srv.requests[0]!.headers.host, `127.0.0.1:${srv.port}`);
    });
  });
});
