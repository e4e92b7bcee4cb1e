import type { Knex } from 'knex';
import { notFound } from '../errors';
import type { Podcast, User } from '../models';
import type { Publication } from '../publishing/transcripts';
import type { PodcastService } from './podcasts';
import { newSecret, sha256Hex } from './tokens';

/** One podcast in a feed: a completed generation's audio that is in its owner's library. */
export interface FeedEpisode {
  podcastId: string;
  title: string | null;
  language: string;
  /** When the podcast's audio first entered the library; a regeneration keeps it. */
  publishedAt: Date;
  duration: number;
  /** The stored file's size (audios.file_size, written from the uploaded file at completion). */
  bytes: number | null;
  /** Whether its current audio has a timeline, hence transcripts and chapters. */
  hasTimeline: boolean;
}

export interface FeedContent {
  owner: { name: string | null; avatarUrl: string | null };
  /** Newest first. */
  episodes: FeedEpisode[];
  /** The newest change to anything the feed shows (or stopped showing: a deleted podcast). */
  lastModified: Date;
}

interface FeedRow {
  name: string | null;
  avatar_url: string | null;
  owner_changed_at: Date;
  podcast_id: string | null;
  title: string | null;
  language: string;
  published_at: Date;
  changed_at: Date;
  duration: number;
  file_size: number | null;
  has_timeline: boolean;
}

/**
 * Private podcast feeds (API.md v1.1): podcast apps send no auth header, so a secret token in the
 * URL stands for the owner. Only its SHA-256 is stored (migration 016); one token per user, and a
 * new one replaces it, which is how a leaked URL is revoked.
 */
export class FeedService {
  constructor(
    private readonly knex: Knex,
    private readonly podcasts: PodcastService,
  ) {}

  /** A new secret token for the caller's feed; the previous one stops working at once. */
  async rotate(user: User): Promise<string> {
    const token = newSecret('pf_');
    const tokenHash = sha256Hex(token);
    await this.knex('podcast_feeds')
      .insert({ user_id: user.id, token_hash: tokenHash })
      .onConflict('user_id')
      .merge({ token_hash: tokenHash, created_at: this.knex.fn.now() });
    return token;
  }

  /**
   * Everything the feed shows, in one query (apps poll feeds often): the owner, and each podcast
   * with a completed generation whose audio is not deleted from the library, newest first. A
   * regenerating podcast keeps its item: its current audio stays until the new one replaces it.
   */
  async feed(token: string): Promise<FeedContent> {
    const { rows } = await this.knex.raw<{ rows: FeedRow[] }>(
      `SELECT u.name, u.avatar_url, GREATEST(f.created_at, u.updated_at, gone.at) AS owner_changed_at,
              p.id AS podcast_id, COALESCE(a.title, p.title) AS title, p.language, a.created_at AS published_at,
              GREATEST(p.updated_at, a.created_at, a.updated_at) AS changed_at, a.duration, a.file_size,
              COALESCE(j.has_timeline, false) AS has_timeline
       FROM podcast_feeds f
       JOIN users u ON u.id = f.user_id AND u.is_active
       -- A deleted podcast leaves the feed: its deletion time is a change too (Last-Modified).
       CROSS JOIN LATERAL (SELECT MAX(d.updated_at) AS at FROM audios d WHERE d.user_id = u.id AND d.type = 'podcast' AND d.is_deleted) gone
       LEFT JOIN (podcasts p JOIN audios a ON a.user_id = p.user_id AND a.audio_url = p.audio_url AND a.type = 'podcast' AND NOT a.is_deleted)
         ON p.user_id = u.id
       -- The generation that made the current audio, as the transcript links read it (PodcastService.publication).
       LEFT JOIN LATERAL (
         SELECT CASE WHEN jsonb_typeof(pj.timeline) = 'array' THEN jsonb_array_length(pj.timeline) > 0 ELSE false END AS has_timeline
         FROM podcast_jobs pj WHERE pj.podcast_id = p.id AND pj.status = 'completed' ORDER BY pj.completed_at DESC LIMIT 1
       ) j ON true
       WHERE f.token_hash = ?
       ORDER BY a.created_at DESC, p.id DESC`,
      [sha256Hex(token)],
    );
    const first = rows[0];
    if (!first) throw notFound('Feed');
    const episodes = rows
      .filter((r) => r.podcast_id !== null)
      .map((r) => ({
        podcastId: r.podcast_id!,
        title: r.title,
        language: r.language,
        publishedAt: r.published_at,
        duration: Number(r.duration),
        bytes: r.file_size === null ? null : Number(r.file_size),
        hasTimeline: r.has_timeline,
      }));
    const lastModified = new Date(Math.max(first.owner_changed_at.getTime(), ...rows.filter((r) => r.podcast_id !== null).map((r) => r.changed_at.getTime())));
    return { owner: { name: first.name, avatarUrl: first.avatar_url }, episodes, lastModified };
  }

  /** A podcast of the token's owner that the feed lists; 404 for anything else, a rotated token included. */
  async podcast(token: string, podcastId: string): Promise<Podcast> {
    const p = await this.knex('podcasts as p')
      .join('podcast_feeds as f', 'f.user_id', 'p.user_id')
      .join('users as u', 'u.id', 'p.user_id')
      .join('audios as a', (on) => {
        on.on('a.user_id', 'p.user_id').andOn('a.audio_url', 'p.audio_url').andOnVal('a.type', 'podcast').andOnVal('a.is_deleted', false);
      })
      .where({ 'f.token_hash': sha256Hex(token), 'p.id': podcastId, 'u.is_active': true })
      .first<Podcast | undefined>('p.*');
    if (!p) throw notFound('Podcast');
    return p;
  }

  /** Transcripts and chapters of a podcast the feed lists. */
  async publication(token: string, podcastId: string): Promise<Publication> {
    return this.podcasts.publication(await this.podcast(token, podcastId));
  }
}
