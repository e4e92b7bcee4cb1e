// One podcast: review its draft, follow its progress, listen to it, or edit and regenerate it.
import { useCallback, useState } from 'preact/hooks';
import { api, must } from '../api';
import { ErrorNote } from '../components';
import { useAction, useLoad } from '../hooks';
import { clock, formatDate, useI18n, type Key } from '../i18n';
import type { Job, Podcast } from '../types';
import { Listen } from './Listen';
import { Bar, Progress } from './Progress';
import { Review } from './Review';
import { useVoices } from './Voices';

export const STATUS_KEYS: Record<string, Key> = {
  draft: 'statusDraft',
  processing: 'statusProcessing',
  completed: 'statusCompleted',
  failed: 'statusFailed',
  canceled: 'statusCanceled',
};

export function PodcastPage({ id }: { id: string }) {
  const { t, lang } = useI18n();
  const podcast = useLoad(() => must<Podcast>(api.GET('/v1/podcasts/{id}', { params: { path: { id } } })), [id]);
  const voices = useVoices();
  const [editing, setEditing] = useState(false);
  const retry = useAction();
  const p = podcast.data;

  const started = (job: Job) => {
    setEditing(false);
    if (p) podcast.setData({ ...p, status: 'processing', job });
  };
  // The job watched to its end stays on screen (at 100%) above the player.
  const [watched, setWatched] = useState<Job | null>(null);
  const settled = useCallback(
    (job: Job) => {
      setWatched(job);
      podcast.reload();
    },
    [podcast.reload],
  );

  if (podcast.error) return <ErrorNote message={podcast.error} />;
  if (!p) return <p>{t('loading')}</p>;

  const review = <Review key={p.status} podcast={p} voices={voices.data ?? []} onStarted={started} />;
  return (
    <>
      <header class="page-head">
        <h1>{p.title ?? t('untitled')}</h1>
        <p class="muted">
          {t(STATUS_KEYS[p.status] ?? 'statusProcessing')} · {formatDate(p.createdAt, lang)}
          {p.duration != null && ` · ${clock(p.duration)}`}
        </p>
      </header>
      {p.status === 'draft' && review}
      {p.status === 'processing' && <Progress podcastId={p.id} initial={p.job} onSettled={settled} />}
      {p.status === 'completed' && (
        <>
          {watched?.status === 'completed' && (
            <section class="card">
              <p class="stage">{t('stage_completed')}</p>
              <Bar label={t('progress')} value={watched.progress} />
            </section>
          )}
          <Listen podcast={p} />
          <button type="button" aria-expanded={editing} onClick={() => setEditing(!editing)}>
            {editing ? t('closeEditor') : t('editScript')}
          </button>
          {editing && review}
        </>
      )}
      {(p.status === 'failed' || p.status === 'canceled') && (
        <>
          <section class="card">
            <p role="status">{p.status === 'canceled' ? t('canceled') : t('failed', { message: p.job?.errorMessage ?? '' })}</p>
            <ErrorNote message={retry.error} />
            <button
              type="button"
              class="primary"
              disabled={retry.busy}
              onClick={() =>
                void retry.run(async () => started((await must<{ job: Job }>(api.POST('/v1/podcasts/{id}/generate', { params: { path: { id } } }))).job))
              }
            >
              {t('retry')}
            </button>
          </section>
          {p.script && review}
        </>
      )}
    </>
  );
}
