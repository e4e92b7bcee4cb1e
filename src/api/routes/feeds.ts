import type { Context } from 'koa';
import { z } from 'zod';
import type { Logger } from '../../logger';
import { buildFeed, type FeedItem } from '../../publishing/feed';
import type { FeedContent, FeedService } from '../../services/feeds';
import type { Storage } from '../../storage/types';
import { sendChapters, sendPodcastFile, sendTranscript } from '../podcastMedia';
import { notModified } from '../request';
import { route } from '../route';
import { etagOf } from '../views';

// Only the shape is checked here: any token that is not a current one is 404, not 400.
const TokenParams = z.object({ token: z.string().min(1).max(200) });
const EpisodeParams = TokenParams.extend({ id: z.uuid('must be a UUID') });
const FeedUrl = z.object({ url: z.string() });

/**
 * The private podcast feed (API.md v1.1). Podcast apps send no auth header, so the feed and every
 * link in it carry the secret token (auth 'none'; the token is checked against its hash in
 * FeedService) and die with it when it rotates. No per-user rate limit applies to these routes:
 * apps poll the feed and fetch ranges of the audio as often as they like, each a cheap read.
 */
export function feedRoutes(deps: { feeds: FeedService; storage: Storage; logger: Logger; publicUrl?: string }) {
  const { feeds } = deps;
  // Links must be absolute in a feed: PUBLIC_URL, else the origin the request came to.
  const links = (ctx: Context, token: string) => {
    const site = (deps.publicUrl ?? `${ctx.protocol}://${ctx.host}`).replace(/\/+$/, '');
    const root = `${site}/v1/feeds/${token}`;
    const episode = (id: string) => `${root}/podcasts/${id}`;
    return {
      site,
      feed: `${root}.xml`,
      file: (id: string) => `${episode(id)}/file.mp3`,
      vtt: (id: string) => `${episode(id)}/transcript.vtt`,
      srt: (id: string) => `${episode(id)}/transcript.srt`,
      chapters: (id: string) => `${episode(id)}/chapters.json`,
    };
  };

  const feedXml = (ctx: Context, token: string, content: FeedContent) => {
    const link = links(ctx, token);
    const name = content.owner.name?.trim() || null;
    const items: FeedItem[] = content.episodes.map((e) => ({
      guid: e.podcastId,
      title: e.title?.trim() || `Podcast of ${e.publishedAt.toISOString().slice(0, 10)}`,
      pubDate: e.publishedAt,
      duration: e.duration,
      // RSS best practice: 0 when a size is unknown (only audios rows older than file_size could lack it).
      enclosure: { url: link.file(e.podcastId), bytes: e.bytes ?? 0, type: 'audio/mpeg' },
      language: e.language,
      transcripts: e.hasTimeline ? { vtt: link.vtt(e.podcastId), srt: link.srt(e.podcastId) } : null,
      chaptersUrl: e.hasTimeline ? link.chapters(e.podcastId) : null,
    }));
    return buildFeed(
      {
        title: name ? `${name}'s AIMake podcasts` : 'AIMake podcasts',
        selfUrl: link.feed,
        link: link.site,
        description: 'Podcasts made with AIMake. This feed is private: keep its address to yourself (a new one can be made, which retires this one).',
        language: (content.episodes[0]?.language ?? 'en').toLowerCase(),
        author: name ?? 'AIMake',
        imageUrl: content.owner.avatarUrl && /^https?:\/\//.test(content.owner.avatarUrl) ? content.owner.avatarUrl : null,
        lastBuildDate: content.lastModified,
      },
      items,
    );
  };

  return [
    route({
      method: 'post',
      path: '/v1/feed',
      operationId: 'rotateFeed',
      tag: 'feeds',
      scope: 'podcast',
      summary: "The caller's private podcast feed URL; each call makes a new one and the previous URL stops working",
      auth: 'required',
      responses: { 200: { description: 'The feed URL (a secret: it opens the feed without auth)', schema: FeedUrl } },
      handler: async (ctx, { auth }) => {
        const token = await feeds.rotate(auth!.user);
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { url: links(ctx, token).feed };
      },
    }),
    route({
      method: 'get',
      path: '/v1/feeds/:token.xml',
      operationId: 'getFeed',
      tag: 'feeds',
      summary: 'A private podcast feed: RSS 2.0 with iTunes and Podcasting 2.0 tags (ETag / Last-Modified for cheap polling)',
      auth: 'none',
      params: TokenParams,
      responses: {
        200: { description: 'The feed', contentType: 'application/rss+xml' },
        304: { description: 'Unchanged since the ETag or date' },
        404: { description: 'No such feed (or its URL was rotated)' },
      },
      handler: async (ctx, { params }) => {
        const content = await feeds.feed(params.token);
        const xml = feedXml(ctx, params.token, content);
        const etag = etagOf(xml);
        ctx.set('ETag', etag);
        ctx.set('Last-Modified', content.lastModified.toUTCString());
        // The feed lists secret links: no shared cache may keep it, and apps revalidate each poll.
        ctx.set('Cache-Control', 'private, no-cache');
        if (notModified(ctx, { etag, lastModified: content.lastModified })) {
          ctx.status = 304;
          return;
        }
        ctx.body = xml;
        ctx.type = 'application/rss+xml; charset=utf-8';
      },
    }),
    route({
      method: 'get',
      path: '/v1/feeds/:token/podcasts/:id/file.mp3',
      operationId: 'downloadFeedPodcastFile',
      tag: 'feeds',
      summary: "A feed podcast's MP3, the enclosure (Range supported)",
      auth: 'none',
      params: EpisodeParams,
      responses: { 200: { description: 'audio/mpeg', contentType: 'audio/mpeg' }, 206: { description: 'Partial content' } },
      handler: async (ctx, { params }) => {
        await sendPodcastFile(ctx, deps, await feeds.podcast(params.token, params.id));
      },
    }),
    ...(['vtt', 'srt'] as const).map((format) =>
      route({
        method: 'get',
        path: `/v1/feeds/:token/podcasts/:id/transcript.${format}`,
        operationId: `getFeedPodcastTranscript${format === 'vtt' ? 'Vtt' : 'Srt'}`,
        tag: 'feeds',
        summary: `A feed podcast's timed transcript (${format === 'vtt' ? 'WebVTT with voice tags' : 'SRT'}), its podcast:transcript link`,
        auth: 'none',
        params: EpisodeParams,
        responses: { 200: { description: 'The transcript', contentType: format === 'vtt' ? 'text/vtt' : 'application/x-subrip' } },
        handler: async (ctx, { params }) => {
          sendTranscript(ctx, await feeds.publication(params.token, params.id), format);
        },
      }),
    ),
    route({
      method: 'get',
      path: '/v1/feeds/:token/podcasts/:id/chapters.json',
      operationId: 'getFeedPodcastChapters',
      tag: 'feeds',
      summary: "A feed podcast's Podcasting 2.0 JSON chapters, its podcast:chapters link",
      auth: 'none',
      params: EpisodeParams,
      responses: { 200: { description: 'The chapters', contentType: 'application/json+chapters' } },
      handler: async (ctx, { params }) => {
        sendChapters(ctx, await feeds.publication(params.token, params.id));
      },
    }),
  ];
}
