import type { Context } from 'koa';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import type { Podcast } from '../models';
import { chaptersFile, transcriptFile, type Publication, type TranscriptFormat } from '../publishing/transcripts';
import type { Storage } from '../storage/types';
import { sendStoredFile } from './sendStoredFile';

/**
 * A podcast's files as HTTP answers, one way wherever they are linked from: the owner's routes
 * (src/api/routes/podcasts.ts) and the private feed's token links (src/api/routes/feeds.ts).
 */

/** The podcast's current MP3, with Range support (players and podcast apps seek). */
export async function sendPodcastFile(ctx: Context, deps: { storage: Storage; logger: Logger }, p: Podcast): Promise<void> {
  if (!p.audio_url) throw new AppError('NOT_FOUND', 'This podcast has no audio yet');
  await sendStoredFile(ctx, deps.storage, deps.storage.keyOf(p.audio_url), {
    contentType: 'audio/mpeg',
    filename: `${p.title ?? 'podcast'}.mp3`,
    logger: deps.logger,
  });
}

export function sendTranscript(ctx: Context, publication: Publication, format: TranscriptFormat): void {
  const file = transcriptFile(publication, format);
  ctx.body = file.body;
  ctx.type = file.contentType;
}

export function sendChapters(ctx: Context, publication: Publication): void {
  const file = chaptersFile(publication);
  ctx.body = file.body;
  ctx.type = file.contentType;
}
