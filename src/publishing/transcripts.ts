import type { Podcast, TimelineEntry } from '../models';

/**
 * A finished podcast as listeners' tools want it: timed transcripts (WebVTT with voice tags, SRT,
 * JSON) and chapters (Podcasting 2.0 JSON chapters, and the same list for the file's ID3 tags),
 * all from the stitcher's timeline of where each line sits in the file.
 */

/** A completed podcast's current audio as published: where each line sits, and its voices' names. */
export interface Publication {
  podcast: Podcast;
  timeline: TimelineEntry[];
  /** voice id → the voice's name */
  speakers: Map<string, string>;
}

export type TranscriptFormat = 'vtt' | 'srt' | 'json';

/** A transcript file as served (API.md: content types per format), wherever it is linked from. */
export function transcriptFile({ podcast, timeline, speakers }: Publication, format: TranscriptFormat): { contentType: string; body: string | object } {
  const speaker = (voiceId: string) => speakers.get(voiceId) ?? voiceId;
  if (format === 'json')
    return { contentType: 'application/json; charset=utf-8', body: toTranscriptJson(podcast.id, Number(podcast.duration), timeline, speaker) };
  if (format === 'srt') return { contentType: 'application/x-subrip; charset=utf-8', body: toSrt(timeline, speaker) };
  return { contentType: 'text/vtt; charset=utf-8', body: toVtt(timeline, speaker) };
}

/** The Podcasting 2.0 chapters file as served. */
export function chaptersFile({ podcast, timeline }: Publication): { contentType: string; body: string } {
  return { contentType: 'application/json+chapters', body: JSON.stringify(chaptersJson(chaptersOf(timeline, podcast.title, Number(podcast.duration)))) };
}

export interface Chapter {
  start: number;
  end: number;
  title: string;
}

/**
 * One chapter per script section, in order; a podcast whose script has no sections (or whose
 * first section starts later) gets a first chapter titled after the podcast.
 */
export function chaptersOf(timeline: TimelineEntry[], podcastTitle: string | null, duration: number): Chapter[] {
  const starts: Array<{ start: number; title: string }> = [];
  for (const entry of timeline) if (entry.section) starts.push({ start: entry.start, title: entry.section });
  if (starts.length === 0 || starts[0]!.start > 0.001) starts.unshift({ start: 0, title: podcastTitle?.trim() || 'Introduction' });
  // The first chapter starts the file, so nothing before it is outside every chapter.
  starts[0]!.start = 0;
  return starts.map((c, i) => ({ start: c.start, end: i + 1 < starts.length ? starts[i + 1]!.start : duration, title: c.title }));
}

/** Podcasting 2.0 JSON chapters (https://github.com/Podcastindex-org/podcast-namespace, chapters 1.2.0). */
export function chaptersJson(chapters: Chapter[]) {
  return { version: '1.2.0', chapters: chapters.map((c) => ({ startTime: round3(c.start), endTime: round3(c.end), title: c.title })) };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

function timestamp(seconds: number, separator: '.' | ','): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(ms % 1000, 3)}`;
}

// WebVTT cue text is HTML-like: these three would be read as markup.
const escapeVtt = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** WebVTT: one cue per line, its text in a `<v Speaker>` voice tag (Apple Podcasts shows the names). */
export function toVtt(timeline: TimelineEntry[], speaker: (voiceId: string) => string): string {
  const cues = timeline.map(
    (t, i) => `${i + 1}\n${timestamp(t.start, '.')} --> ${timestamp(t.end, '.')}\n<v ${escapeVtt(speaker(t.voiceId))}>${escapeVtt(oneLine(t.text))}</v>`,
  );
  return `WEBVTT\n\n${cues.join('\n\n')}\n`;
}

/** SubRip: numbered cues, `SPEAKER: text`. */
export function toSrt(timeline: TimelineEntry[], speaker: (voiceId: string) => string): string {
  return `${timeline.map((t, i) => `${i + 1}\n${timestamp(t.start, ',')} --> ${timestamp(t.end, ',')}\n${speaker(t.voiceId)}: ${oneLine(t.text)}`).join('\n\n')}\n`;
}

export function toTranscriptJson(podcastId: string, duration: number, timeline: TimelineEntry[], speaker: (voiceId: string) => string) {
  return {
    podcastId,
    duration,
    lines: timeline.map((t, i) => ({ index: i, role: t.role, voiceId: t.voiceId, speaker: speaker(t.voiceId), text: t.text, start: t.start, end: t.end })),
  };
}

// A blank line would end a cue early in both formats.
const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
