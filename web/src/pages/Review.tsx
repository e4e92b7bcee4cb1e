// The script as editable lines (text, role, voice; add, delete, reorder), saved with
// PUT /script; Approve (or Regenerate after completion) saves and starts the audio.
import { useState } from 'preact/hooks';
import { api, must } from '../api';
import { ErrorNote } from '../components';
import { useAction } from '../hooks';
import { useI18n } from '../i18n';
import type { Job, Podcast, Role, ScriptLine, Voice } from '../types';
import { voiceLabel } from './Voices';

interface EditLine extends ScriptLine {
  key: number;
}
let nextKey = 1;
const withKey = (l: ScriptLine): EditLine => ({ ...l, voiceId: l.voiceId ?? '', key: nextKey++ });

export function Review({ podcast, voices, onStarted }: { podcast: Podcast; voices: Voice[]; onStarted: (job: Job) => void }) {
  const { t } = useI18n();
  const [lines, setLines] = useState<EditLine[]>(() => (podcast.script ?? []).map(withKey));
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const path = { params: { path: { id: podcast.id } } };
  const isDraft = podcast.status === 'draft';

  const change = (i: number, patch: Partial<ScriptLine>) => {
    setSaved(false);
    setLines((ls) => ls.map((l, j) => (j === i ? { ...l, ...patch } : l)));
  };
  const move = (i: number, by: number) => {
    setSaved(false);
    setLines((ls) => {
      const next = [...ls];
      const [line] = next.splice(i, 1);
      next.splice(i + by, 0, line!);
      return next;
    });
  };
  const remove = (i: number) => {
    setSaved(false);
    setLines((ls) => ls.filter((_, j) => j !== i));
  };
  const add = () => {
    const last = lines[lines.length - 1];
    setSaved(false);
    setLines((ls) => [...ls, withKey({ role: last?.role === 'host' ? 'guest' : 'host', text: '' })]);
  };

  const save = () =>
    must<Podcast>(
      api.PUT('/v1/podcasts/{id}/script', {
        ...path,
        body: { script: lines.map((l) => ({ role: l.role, text: l.text, ...(l.voiceId ? { voiceId: l.voiceId } : {}) })) },
      }),
    );
  const onSave = () => action.run(async () => (await save(), setSaved(true)));
  const onApprove = () =>
    action.run(async () => {
      await save();
      const { job } = await must<{ job: Job }>(api.POST('/v1/podcasts/{id}/generate', path));
      onStarted(job);
    });

  return (
    <section class="card">
      <h2>{isDraft ? t('reviewTitle') : t('editScript')}</h2>
      <p class="muted">{t('reviewHint')}</p>
      <ol class="script">
        {lines.map((l, i) => (
          <li key={l.key} class={`line ${l.role}`}>
            <div class="line-meta">
              <select
                aria-label={`${t('role')} · ${t('line', { n: i + 1 })}`}
                value={l.role}
                onChange={(e) => change(i, { role: e.currentTarget.value as Role })}
              >
                <option value="host">{t('host')}</option>
                <option value="guest">{t('guest')}</option>
              </select>
              <select
                aria-label={`${t('voice')} · ${t('line', { n: i + 1 })}`}
                value={l.voiceId ?? ''}
                onChange={(e) => change(i, { voiceId: e.currentTarget.value })}
              >
                <option value="">{t('defaultVoice')}</option>
                {voices.map((v) => (
                  <option key={v.id} value={v.id}>
                    {voiceLabel(v)}
                  </option>
                ))}
              </select>
              <span class="tools">
                <button type="button" class="icon" aria-label={t('moveUp', { n: i + 1 })} disabled={i === 0} onClick={() => move(i, -1)}>
                  ↑
                </button>
                <button type="button" class="icon" aria-label={t('moveDown', { n: i + 1 })} disabled={i === lines.length - 1} onClick={() => move(i, 1)}>
                  ↓
                </button>
                <button type="button" class="icon" aria-label={t('deleteLine', { n: i + 1 })} disabled={lines.length === 1} onClick={() => remove(i)}>
                  ✕
                </button>
              </span>
            </div>
            <textarea aria-label={t('line', { n: i + 1 })} rows={2} value={l.text} onInput={(e) => change(i, { text: e.currentTarget.value })} />
          </li>
        ))}
      </ol>
      <ErrorNote message={action.error} />
      {saved && <p role="status">{t('saved')}</p>}
      <div class="actions">
        <button type="button" onClick={add}>
          {t('addLine')}
        </button>
        <button type="button" disabled={action.busy} onClick={() => void onSave()}>
          {t('saveScript')}
        </button>
        <button type="button" class="primary" disabled={action.busy} onClick={() => void onApprove()}>
          {isDraft ? t('approve') : t('regenerate')}
        </button>
      </div>
    </section>
  );
}
