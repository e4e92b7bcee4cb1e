// A finished podcast: the player with chapters, the timed transcript (the current line follows
// the audio; a click seeks to it), MP3 download and the private feed URL.
import { useRef, useState } from 'preact/hooks';
import { api, must } from '../api';
import { ErrorNote } from '../components';
import { useAction, useLoad } from '../hooks';
import { clock, useI18n } from '../i18n';
import type { Chapter, Podcast, TranscriptLine } from '../types';

export function Listen({ podcast }: { podcast: Podcast }) {
  const { t } = useI18n();
  const path = { params: { path: { id: podcast.id } } };
  const transcript = useLoad(
    () => must<{ lines: TranscriptLine[] }>(api.GET('/v1/podcasts/{id}/transcript', { params: { path: { id: podcast.id }, query: { format: 'json' } } })),
    [podcast.id],
  );
  const chapters = useLoad(() => must<{ chapters: Chapter[] }>(api.GET('/v1/podcasts/{id}/chapters', path)), [podcast.id]);
  const audio = useRef<HTMLAudioElement>(null);
  const [time, setTime] = useState(0);
  const [feed, setFeed] = useState('');
  const feedAction = useAction();

  const lines = transcript.data?.lines ?? [];
  // The line playing now: the last one that has started.
  let current = -1;
  lines.forEach((l, i) => {
    if (l.start <= time) current = i;
  });
  const seek = (to: number) => {
    if (!audio.current) return;
    audio.current.currentTime = to;
    setTime(to);
  };
  const copyFeed = () =>
    feedAction.run(async () => {
      const { url } = await must<{ url: string }>(api.POST('/v1/feed'));
      setFeed(url);
      await navigator.clipboard?.writeText(url).catch(() => undefined);
    });
  const src = `/v1/podcasts/${encodeURIComponent(podcast.id)}/file`;

  return (
    <section class="card listen">
      <div class="player">
        <audio ref={audio} aria-label={t('player')} controls preload="metadata" src={src} onTimeUpdate={(e) => setTime(e.currentTarget.currentTime)} />
        <div class="actions">
          <a class="button" href={src} download={`${podcast.title ?? podcast.id}.mp3`}>
            {t('downloadMp3')}
          </a>
          <button type="button" disabled={feedAction.busy} onClick={() => void copyFeed()}>
            {t('copyFeed')}
          </button>
        </div>
        {feed && (
          <label>
            {t('feedUrl')}
            <input readOnly value={feed} onFocus={(e) => e.currentTarget.select()} />
            <span class="muted">{t('feedCopied')}</span>
          </label>
        )}
        <ErrorNote message={feedAction.error} />
        {chapters.data && chapters.data.chapters.length > 0 && (
          <>
            <h3>{t('chapters')}</h3>
            <ul class="chapters" aria-label={t('chapters')}>
              {chapters.data.chapters.map((c, i) => (
                <li key={i}>
                  <button type="button" class="link" onClick={() => seek(c.startTime)}>
                    {clock(c.startTime)} {c.title}
                  </button>
                </li>
              ))}
            </ul>
          </>
        )}
      </div>
      <div class="transcript">
        <h3>{t('transcript')}</h3>
        <ErrorNote message={transcript.error} />
        <ol aria-label={t('transcript')}>
          {lines.map((l, i) => (
            <li key={l.index}>
              <button
                type="button"
                class={i === current ? 'cue current' : 'cue'}
                aria-current={i === current ? 'true' : undefined}
                onClick={() => seek(l.start)}
              >
                <span class="time">{clock(l.start)}</span> <span class="speaker">{l.speaker}</span> {l.text}
              </button>
            </li>
          ))}
        </ol>
      </div>
    </section>
  );
}
