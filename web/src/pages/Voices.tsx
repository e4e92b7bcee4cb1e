// The voice catalogue: English and Chinese names, language, gender, premium badge, a preview.
import { useRef, useState } from 'preact/hooks';
import { api, must } from '../api';
import { ErrorNote } from '../components';
import { useLoad } from '../hooks';
import { languageName, useI18n, type Key } from '../i18n';
import type { List, Voice } from '../types';

const GENDER_KEYS: Record<string, Key> = { female: 'female', male: 'male', neutral: 'neutral' };

export function useVoices() {
  return useLoad(() => must<List<Voice>>(api.GET('/v1/voices')).then((l) => l.items), []);
}

export function voiceLabel(v: Voice) {
  return v.nameZh ? `${v.name} · ${v.nameZh}` : v.name;
}

/** A labelled choice of voice: the `<label for>` names the select (`field-${id}`). */
export function VoiceSelect(props: { id: string; label: string; voices: Voice[]; value: string; onChange: (voiceId: string) => void }) {
  return (
    <div class="field">
      <label for={`field-${props.id}`}>{props.label}</label>
      <select id={`field-${props.id}`} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {props.voices.map((v) => (
          <option key={v.id} value={v.id}>
            {voiceLabel(v)}
          </option>
        ))}
      </select>
    </div>
  );
}

export function VoicesPage() {
  const { t, lang } = useI18n();
  const voices = useVoices();
  const player = useRef<HTMLAudioElement>(null);
  const [playing, setPlaying] = useState('');
  const [error, setError] = useState('');

  const play = (v: Voice) => {
    const audio = player.current;
    if (!audio || !v.previewUrl) return;
    setError('');
    // The API's own URL, on this origin: PUBLIC_URL may name another host for the same server,
    // which the CSP (media-src 'self') would refuse.
    const url = new URL(v.previewUrl, location.href);
    audio.src = url.pathname.startsWith('/v1/') ? url.pathname : url.href;
    setPlaying(v.id);
    audio.play().catch((err: unknown) => setError(String(err)));
  };

  return (
    <section class="card">
      <h1>{t('voices')}</h1>
      <ErrorNote message={voices.error} />
      <ErrorNote message={error} />
      <audio ref={player} aria-label={t('playPreview')} controls class={playing ? 'preview' : 'hidden'} onEnded={() => setPlaying('')} />
      <ul class="voices">
        {voices.data?.map((v) => (
          <li key={v.id} class="voice">
            {v.avatarUrl && <img src={v.avatarUrl} alt="" width={40} height={40} />}
            <div>
              <strong>{v.name}</strong> {v.nameZh && <span lang="zh-CN">{v.nameZh}</span>} {v.isPremium && <span class="badge">{t('premium')}</span>}
              <div class="muted">
                {languageName(v.language, lang)} · {v.gender ? t(GENDER_KEYS[v.gender] ?? 'neutral') : '—'} · {v.provider}
              </div>
            </div>
            {v.previewUrl ? (
              <button type="button" onClick={() => play(v)} aria-pressed={playing === v.id} aria-label={`${t('playPreview')}: ${v.name}`}>
                ▶ {t('playPreview')}
              </button>
            ) : (
              <span class="muted">{t('noPreview')}</span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
