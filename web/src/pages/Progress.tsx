// A running podcast, live from /events: stage, progress bar, line n of N, ETA; cancel.
import { useEffect } from 'preact/hooks';
import { api, must } from '../api';
import { ErrorNote } from '../components';
import { useAction, useJobEvents } from '../hooks';
import { clock, useI18n, type Key } from '../i18n';
import type { Job } from '../types';

/** A labelled progress bar (0–100). The width is set through the CSSOM, which the CSP allows. */
export function Bar({ label, value }: { label: string; value: number }) {
  const v = Math.max(0, Math.min(100, Math.round(value)));
  return (
    <div class="bar" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={v}>
      <div class="fill" style={{ width: `${v}%` }} />
    </div>
  );
}

/** `onSettled` runs when the job ends or parks for review: the podcast's page then reloads it. */
export function Progress({ podcastId, initial, onSettled }: { podcastId: string; initial: Job | null; onSettled: (job: Job) => void }) {
  const { t } = useI18n();
  const job = useJobEvents(podcastId, initial);
  const cancel = useAction();
  const finished = job && ['completed', 'failed', 'canceled'].includes(job.status);
  // A review run parks with its script written: the podcast is then a draft to review.
  const parked = Boolean(job?.awaitingApproval);

  useEffect(() => {
    if (job && (finished || parked)) onSettled(job);
  }, [job, finished, parked, onSettled]);

  const lines = job?.status === 'synthesizing' && job.linesDone != null && job.linesTotal ? { n: job.linesDone, total: job.linesTotal } : null;
  return (
    <section class="card" aria-live="polite">
      <h2>{t('progress')}</h2>
      <p class="stage">{!job ? t('loading') : parked ? t('stage_pending') : t(`stage_${job.status}` as Key)}</p>
      <Bar label={t('progress')} value={job?.progress ?? 0} />
      <p class="muted">
        {job?.progress ?? 0}%{lines && ` · ${t('lineOf', lines)}`}
        {job?.etaSeconds != null && !finished && ` · ${t('etaLeft', { eta: clock(job.etaSeconds) })}`}
      </p>
      <ErrorNote message={cancel.error} />
      {!finished && (
        <button
          type="button"
          disabled={cancel.busy}
          onClick={() => void cancel.run(() => must(api.POST('/v1/podcasts/{id}/cancel', { params: { path: { id: podcastId } } })))}
        >
          {t('cancel')}
        </button>
      )}
    </section>
  );
}
