import { create } from 'xmlbuilder2';

/**
 * A podcast feed as podcast apps read it: RSS 2.0 with Apple's iTunes tags and the Podcasting 2.0
 * namespace (transcripts, chapters). Pure: the data in, the XML text out; xmlbuilder2 escapes.
 */

export const ITUNES_NS = 'http://www.itunes.com/dtds/podcast-1.0.dtd';
export const PODCAST_NS = 'https://podcastindex.org/namespace/1.0';
const ATOM_NS = 'http://www.w3.org/2005/Atom';

export interface FeedChannel {
  title: string;
  /** The feed's own URL (atom:link rel="self", which validators ask for). */
  selfUrl: string;
  link: string;
  description: string;
  language: string;
  author: string;
  imageUrl?: string | null;
  lastBuildDate: Date;
}

export interface FeedItem {
  guid: string;
  title: string;
  pubDate: Date;
  /** Seconds. */
  duration: number;
  enclosure: { url: string; bytes: number; type: 'audio/mpeg' };
  language: string;
  /** Absent for a podcast made before timelines were recorded. */
  transcripts?: { vtt: string; srt: string } | null;
  chaptersUrl?: string | null;
}

/** hh:mm:ss, one of the two forms Apple accepts for itunes:duration. */
export function itunesDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

/** RFC 822 dates, as RSS 2.0 wants them (e.g. "Sat, 07 Sep 2026 00:00:01 GMT"). */
const rfc822 = (d: Date) => d.toUTCString();

export function buildFeed(channel: FeedChannel, items: FeedItem[]): string {
  // Titles are the users' own text: characters XML cannot carry (controls) are dropped, not fatal.
  const doc = create({ version: '1.0', encoding: 'UTF-8', invalidCharReplacement: '' });
  const rss = doc.ele('rss', { version: '2.0', 'xmlns:itunes': ITUNES_NS, 'xmlns:podcast': PODCAST_NS, 'xmlns:atom': ATOM_NS });
  const ch = rss.ele('channel');
  ch.ele('title').txt(channel.title);
  ch.ele('link').txt(channel.link);
  ch.ele('atom:link', { href: channel.selfUrl, rel: 'self', type: 'application/rss+xml' });
  ch.ele('description').txt(channel.description);
  ch.ele('language').txt(channel.language);
  ch.ele('lastBuildDate').txt(rfc822(channel.lastBuildDate));
  ch.ele('generator').txt('AIMake');
  ch.ele('itunes:author').txt(channel.author);
  ch.ele('itunes:explicit').txt('false');
  ch.ele('itunes:type').txt('episodic');
  // A private feed: no podcast host may import it as its own.
  ch.ele('podcast:locked').txt('yes');
  if (channel.imageUrl) ch.ele('itunes:image', { href: channel.imageUrl });

  for (const item of items) {
    const it = ch.ele('item');
    it.ele('guid', { isPermaLink: 'false' }).txt(item.guid);
    it.ele('title').txt(item.title);
    it.ele('pubDate').txt(rfc822(item.pubDate));
    it.ele('enclosure', { url: item.enclosure.url, length: String(item.enclosure.bytes), type: item.enclosure.type });
    it.ele('itunes:duration').txt(itunesDuration(item.duration));
    it.ele('itunes:episodeType').txt('full');
    if (item.transcripts) {
      it.ele('podcast:transcript', { url: item.transcripts.vtt, type: 'text/vtt', language: item.language, rel: 'captions' });
      it.ele('podcast:transcript', { url: item.transcripts.srt, type: 'application/x-subrip', language: item.language, rel: 'captions' });
    }
    if (item.chaptersUrl) it.ele('podcast:chapters', { url: item.chaptersUrl, type: 'application/json+chapters' });
  }
  return doc.end({ prettyPrint: true });
}
