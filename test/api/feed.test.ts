import assert from 'node:assert/strict';
import { JSDOM } from 'jsdom';
import { call, registerUser } from '../helpers/api';
import { longArticle, pollJob } from '../helpers/generation';
import { startTestStack, type TestStack } from '../helpers/stack';
import { sha256Hex } from '../../src/services/tokens';

const ITUNES = 'http://www.itunes.com/dtds/podcast-1.0.dtd';
const PODCAST = 'https://podcastindex.org/namespace/1.0';

interface Item {
  guid: string;
  isPermaLink: string | null;
  title: string;
  pubDate: Date;
  duration: string;
  enclosure: { url: string; length: number; type: string };
  transcripts: Array<{ url: string; type: string }>;
  chapters: Array<{ url: string; type: string }>;
}

/** Parses the feed as a podcast app would, namespace-aware, failing on anything not well-formed. */
function parseFeed(xml: string) {
  const { DOMParser } = new JSDOM('').window;
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  assert.equal(doc.getElementsByTagName('parsererror').length, 0, `well-formed XML: ${xml.slice(0, 500)}`);
  const rss = doc.documentElement;
  const channel = rss.getElementsByTagName('channel')[0]!;
  const child = (el: Element, name: string, ns: string | null = null) => Array.from(el.children).filter((c) => c.localName === name && c.namespaceURI === ns);
  const text = (el: Element, name: string, ns: string | null = null) => child(el, name, ns)[0]?.textContent ?? null;
  const items: Item[] = child(channel, 'item').map((it) => {
    const enclosure = child(it, 'enclosure')[0]!;
    const links = (name: string) => child(it, name, PODCAST).map((l) => ({ url: l.getAttribute('url')!, type: l.getAttribute('type')! }));
    return {
      guid: text(it, 'guid')!,
      isPermaLink: child(it, 'guid')[0]!.getAttribute('isPermaLink'),
      title: text(it, 'title')!,
      pubDate: new Date(text(it, 'pubDate')!),
      duration: text(it, 'duration', ITUNES)!,
      enclosure: { url: enclosure.getAttribute('url')!, length: Number(enclosure.getAttribute('length')), type: enclosure.getAttribute('type')! },
      transcripts: links('transcript'),
      chapters: links('chapters'),
    };
  });
  return {
    rss,
    channel: {
      title: text(channel, 'title'),
      link: text(channel, 'link'),
      language: text(channel, 'language'),
      description: text(channel, 'description'),
      author: text(channel, 'author', ITUNES),
      explicit: text(channel, 'explicit', ITUNES),
    },
    items,
  };
}

const seconds = (hms: string) => hms.split(':').reduce((s, part) => s * 60 + Number(part), 0);

/** A GET as a podcast app sends it: no auth header. */
async function fetchBytes(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** The private podcast feed (issue 11, item 3). */
describe('private podcast feed', function () {
  this.timeout(240_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack();
  });

  async function makePodcast(token: string, title: string, sections: number) {
    const res = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: {
        title,
        sourceType: 'text',
        sourceContent: longArticle('en', sections, 3),
        targetDuration: 60,
        language: 'en-US',
        hostVoiceId: 'local-en-female',
        guestVoiceId: 'local-en-male',
      },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const { job } = await pollJob(stack, token, res.body.podcast.id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    return (await call(stack.url, 'GET', `/v1/podcasts/${res.body.podcast.id}`, { token })).body as { id: string; duration: number; title: string };
  }

  async function getFeed(url: string, headers: Record<string, string> = {}) {
    const res = await fetch(url, { headers });
    return { status: res.status, headers: res.headers, xml: await res.text() };
  }

  it('lists completed podcasts newest first, with links that work without auth and die when the URL rotates', async () => {
    const alice = await registerUser(stack, 'Alice');
    const first = await makePodcast(alice.token, 'Radio <nights> & "days"', 2);
    const second = await makePodcast(alice.token, 'Second episode', 3);

    assert.equal((await call(stack.url, 'POST', '/v1/feed')).status, 401, 'making a feed URL needs auth');
    const made = await call(stack.url, 'POST', '/v1/feed', { token: alice.token });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    const url = made.body.url as string;
    assert.ok(url.startsWith(`${stack.url}/v1/feeds/`) && url.endsWith('.xml'), url);
    const token = url.slice(`${stack.url}/v1/feeds/`.length, -'.xml'.length);
    const stored = await stack.knex('podcast_feeds').where({ user_id: alice.user.id });
    assert.deepEqual(
      stored.map((r) => r.token_hash),
      [sha256Hex(token)],
      'only the hash of the token is stored',
    );

    const res = await getFeed(url);
    assert.equal(res.status, 200, res.xml);
    assert.equal(res.headers.get('content-type'), 'application/rss+xml; charset=utf-8');
    const feed = parseFeed(res.xml);
    assert.equal(feed.rss.localName, 'rss');
    assert.equal(feed.rss.getAttribute('version'), '2.0');
    assert.equal(feed.rss.lookupNamespaceURI('itunes'), ITUNES);
    assert.equal(feed.rss.lookupNamespaceURI('podcast'), PODCAST);
    assert.equal(feed.channel.title, "Alice's AIMake podcasts");
    assert.equal(feed.channel.link, stack.url);
    assert.equal(feed.channel.language, 'en-us');
    assert.equal(feed.channel.author, 'Alice');
    assert.equal(feed.channel.explicit, 'false');
    assert.ok(feed.channel.description);

    // One item per completed podcast, newest first, with stable guids.
    assert.deepEqual(
      feed.items.map((i) => i.guid),
      [second.id, first.id],
    );
    assert.deepEqual(
      feed.items.map((i) => i.title),
      ['Second episode', 'Radio <nights> & "days"'],
    );
    assert.ok(feed.items[0]!.pubDate.getTime() >= feed.items[1]!.pubDate.getTime(), 'newest first');
    for (const [item, podcast] of [
      [feed.items[0]!, second],
      [feed.items[1]!, first],
    ] as const) {
      assert.equal(item.isPermaLink, 'false');
      assert.ok(Math.abs(Date.now() - item.pubDate.getTime()) < 10 * 60_000, `pubDate is an RFC 822 date: ${item.pubDate.toString()}`);
      assert.match(item.duration, /^\d\d:\d\d:\d\d$/);
      assert.ok(Math.abs(seconds(item.duration) - podcast.duration) <= 0.5, `${item.duration} vs ${podcast.duration}`);

      // The enclosure: exact length, playable without headers, the same bytes as the owner's file.
      assert.equal(item.enclosure.type, 'audio/mpeg');
      const audio = await fetchBytes(item.enclosure.url);
      assert.equal(audio.status, 200);
      assert.equal(audio.headers.get('content-type'), 'audio/mpeg');
      assert.equal(audio.bytes.length, item.enclosure.length, 'enclosure length is the served byte count');
      const head = await fetch(item.enclosure.url, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(Number(head.headers.get('content-length')), item.enclosure.length, 'HEAD tells the length too');
      const owners = await fetchBytes(`${stack.url}/v1/podcasts/${podcast.id}/file`, { authorization: `Bearer ${alice.token}` });
      assert.ok(owners.bytes.equals(audio.bytes));
      // Podcast apps seek.
      const part = await fetchBytes(item.enclosure.url, { range: 'bytes=100-1099' });
      assert.equal(part.status, 206);
      assert.equal(part.headers.get('content-range'), `bytes 100-1099/${audio.bytes.length}`);
      assert.ok(part.bytes.equals(audio.bytes.subarray(100, 1100)));

      // Transcripts (VTT and SRT) and chapters: what the owner's routes serve, without auth.
      assert.deepEqual(
        item.transcripts.map((t) => t.type),
        ['text/vtt', 'application/x-subrip'],
      );
      for (const [t, format, contentType] of [
        [item.transcripts[0]!, 'vtt', 'text/vtt; charset=utf-8'],
        [item.transcripts[1]!, 'srt', 'application/x-subrip; charset=utf-8'],
      ] as const) {
        const r = await fetch(t.url);
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('content-type'), contentType);
        const owner = await call(stack.url, 'GET', `/v1/podcasts/${podcast.id}/transcript?format=${format}`, { token: alice.token });
        assert.equal(await r.text(), owner.body);
      }
      assert.deepEqual(
        item.chapters.map((c) => c.type),
        ['application/json+chapters'],
      );
      const chapters = await fetch(item.chapters[0]!.url);
      assert.equal(chapters.status, 200);
      assert.match(chapters.headers.get('content-type')!, /^application\/json\+chapters/);
      const owner = await call(stack.url, 'GET', `/v1/podcasts/${podcast.id}/chapters`, { token: alice.token });
      assert.deepEqual(await chapters.json(), owner.body);
    }
    assert.equal(
      (await call(stack.url, 'GET', `/v1/podcasts/${second.id}/chapters`, { token: alice.token })).body.chapters.length,
      3,
      'one chapter per section',
    );

    // Polling is cheap: unchanged, the feed answers 304 to its ETag and to its date.
    const etag = res.headers.get('etag')!;
    const lastModified = res.headers.get('last-modified')!;
    assert.ok(etag && lastModified);
    assert.equal((await getFeed(url, { 'if-none-match': etag })).status, 304);
    assert.equal((await getFeed(url, { 'if-modified-since': lastModified })).status, 304);

    // Someone else's feed lists nothing of Alice's, and their token opens none of her podcasts.
    const bob = await registerUser(stack, 'Bob');
    const bobUrl = (await call(stack.url, 'POST', '/v1/feed', { token: bob.token })).body.url as string;
    const bobFeed = await getFeed(bobUrl);
    assert.equal(bobFeed.status, 200);
    assert.deepEqual(parseFeed(bobFeed.xml).items, []);
    const bobToken = bobUrl.slice(`${stack.url}/v1/feeds/`.length, -'.xml'.length);
    for (const link of ['file.mp3', 'transcript.vtt', 'transcript.srt', 'chapters.json'])
      assert.equal((await fetch(`${stack.url}/v1/feeds/${bobToken}/podcasts/${first.id}/${link}`)).status, 404, link);

    // Rotation: the old URL and every link in it answer 404, the new ones work.
    const rotated = (await call(stack.url, 'POST', '/v1/feed', { token: alice.token })).body.url as string;
    assert.notEqual(rotated, url);
    assert.equal((await getFeed(url)).status, 404);
    for (const item of feed.items) {
      for (const link of [item.enclosure.url, ...item.transcripts.map((t) => t.url), ...item.chapters.map((c) => c.url)]) {
        const r = await fetch(link);
        assert.equal(r.status, 404, link);
        assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
      }
    }
    const fresh = parseFeed((await getFeed(rotated)).xml);
    assert.deepEqual(
      fresh.items.map((i) => i.guid),
      [second.id, first.id],
      'guids are stable across rotations',
    );
    for (const item of fresh.items) {
      const audio = await fetchBytes(item.enclosure.url);
      assert.equal(audio.status, 200);
      assert.equal(audio.bytes.length, item.enclosure.length);
      for (const link of [...item.transcripts, ...item.chapters]) assert.equal((await fetch(link.url)).status, 200, link.url);
    }

    // A podcast deleted from the library leaves the feed, and its links die; the feed's validators change.
    const before = await getFeed(rotated);
    const audios = (await call(stack.url, 'GET', '/v1/audios?type=podcast', { token: alice.token })).body.items as Array<{ id: string; title: string }>;
    const firstAudio = audios.find((a) => a.title === 'Radio <nights> & "days"')!;
    // Last-Modified counts whole seconds: let one pass so the deletion is visibly later.
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(before.headers.get('last-modified')!) + 2000 - Date.now())));
    assert.equal((await call(stack.url, 'DELETE', `/v1/audios/${firstAudio.id}`, { token: alice.token })).status, 204);
    const after = await getFeed(rotated, { 'if-none-match': before.headers.get('etag')! });
    assert.equal(after.status, 200, 'the old ETag no longer matches');
    assert.equal((await getFeed(rotated, { 'if-modified-since': before.headers.get('last-modified')! })).status, 200, 'modified since');
    assert.deepEqual(
      parseFeed(after.xml).items.map((i) => i.guid),
      [second.id],
    );
    const gone = fresh.items.find((i) => i.guid === first.id)!;
    for (const link of [gone.enclosure.url, ...gone.transcripts.map((t) => t.url), ...gone.chapters.map((c) => c.url)])
      assert.equal((await fetch(link)).status, 404, link);

    // A podcast made before transcripts existed (no timeline) keeps its enclosure, without transcript or chapters tags.
    const job = (await call(stack.url, 'GET', `/v1/podcasts/${second.id}/job`, { token: alice.token })).body as { id: string };
    await stack.knex('podcast_jobs').where({ id: job.id }).update({ timeline: null });
    const old = parseFeed((await getFeed(rotated)).xml).items[0]!;
    assert.equal(old.guid, second.id);
    assert.deepEqual(old.transcripts, []);
    assert.deepEqual(old.chapters, []);
    assert.equal((await fetchBytes(old.enclosure.url)).bytes.length, old.enclosure.length);
  });

  it('answers 404 for unknown feed tokens and 400 for malformed podcast ids', async () => {
    const carol = await registerUser(stack, 'Carol');
    const url = (await call(stack.url, 'POST', '/v1/feed', { token: carol.token })).body.url as string;
    const token = url.slice(`${stack.url}/v1/feeds/`.length, -'.xml'.length);
    const unknown = await call(stack.url, 'GET', '/v1/feeds/pf_not-a-real-token.xml');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'NOT_FOUND');
    assert.equal((await call(stack.url, 'GET', `/v1/feeds/${token}/podcasts/00000000-0000-4000-8000-000000000000/file.mp3`)).status, 404);
    const malformed = await call(stack.url, 'GET', `/v1/feeds/${token}/podcasts/nope/transcript.vtt`);
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 'VALIDATION_FAILED');
    // An empty feed is still a valid feed.
    const empty = await fetch(url);
    assert.equal(empty.status, 200);
    assert.deepEqual(parseFeed(await empty.text()).items, []);
    // The routes are in the OpenAPI document like every other.
    const openapi = (await call(stack.url, 'GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    assert.ok(openapi.paths['/v1/feed']?.post);
    assert.ok(openapi.paths['/v1/feeds/{token}.xml']?.get);
    assert.ok(openapi.paths['/v1/feeds/{token}/podcasts/{id}/file.mp3']?.get);
  });
});
