// The library: podcasts and text-to-speech audios with status, duration and date; rename,
// public/private and delete for audios; and a text-to-speech form.
import { useState } from 'preact/hooks';
import { api, must } from '../api';
import { useAction, useLoad } from '../hooks';
import { clock, formatDate, useI18n } from '../i18n';
import type { Audio, List, Podcast } from '../types';
import { STATUS_KEYS } from './Podcast';
import { useVoices, voiceLabel } from './Voices';

function AudioRow({ audio, onChanged }: { audio: Audio; onChanged: () => void }) {
  const { t, lang } = useI18n();
  const [title, setTitle] = useState(audio.title ?? '');
  const [isPublic, setPublic] = useState(audio.isPublic);
  const action = useAction();
  const path = { params: { path: { id: audio.id } } };
  const name = audio.title ?? t('untitled');

  const patch = (body: { title?: string | null; isPublic?: boolean }) =>
    action.run(async () => (await must(api.PATCH('/v1/audios/{id}', { ...path, body })), onChanged()));
  // Shown at once; put back if the API refuses.
  const makePublic = async (on: boolean) => {
    setPublic(on);
    if (!(await patch({ isPublic: on }))) setPublic(!on);
  };
  const remove = () => {
    if (confirm(t('confirmDelete', { title: name }))) void action.run(async () => (await must(api.DELETE('/v1/audios/{id}', path)), onChanged()));
  };

  return (
    <li class="item">
      <form
        class="rename"
        onSubmit={(e) => {
          e.preventDefault();
          void patch({ title: title.trim() || null });
        }}
      >
        <input aria-label={`${t('rename')}: ${name}`} value={title} maxLength={255} onInput={(e) => setTitle(e.currentTarget.value)} />
        <button type="submit" disabled={action.busy}>
          {t('save')}
        </button>
      </form>
      <p class="muted">
        {audio.voiceName ?? ''} · {audio.duration != null ? clock(audio.duration) : '—'} · {formatDate(audio.createdAt, lang)}
      </p>
      <audio controls preload="none" src={`/v1/audios/${encodeURIComponent(audio.id)}/file`} aria-label={name} />
      <div class="actions">
        <label class="check">
          <input type="checkbox" checked={isPublic} disabled={action.busy} onChange={(e) => void makePublic(e.currentTarget.checked)} />
          {t('public')}
        </label>
        <button type="button" class="danger" disabled={action.busy} onClick={remove}>
          {t('delete')}
        </button>
      </div>
      {action.error && (
        <p role="alert" class="error">
          {action.error}
        </p>
      )}
    </li>
  );
}

function SpeakForm({ onStarted }: { onStarted: () => void }) {
  const { t } = useI18n();
  const voices = useVoices();
  const [text, setText] = useState('');
  const [title, setTitle] = useState('');
  const [voiceId, setVoiceId] = useState('');
  const [started, setStarted] = useState(false);
  const action = useAction();
  const voice = voiceId || voices.data?.find((v) => !v.isPremium)?.id || voices.data?.[0]?.id || '';

  const submit = (e: Event) => {
    e.preventDefault();
    setStarted(false);
    void action.run(async () => {
      await must(api.POST('/v1/audios', { body: { text, voiceId: voice, ...(title.trim() ? { title: title.trim() } : {}) } }));
      setText('');
      setStarted(true);
      onStarted();
    });
  };

  return (
    <form class="card" onSubmit={submit}>
      <h2>{t('ttsTitle')}</h2>
      <label>
        {t('sourceText')}
        <textarea rows={4} required value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </label>
      <div class="row">
        <label>
          {t('title')}
          <input value={title} maxLength={255} onInput={(e) => setTitle(e.currentTarget.value)} />
        </label>
        <div class="field">
          <label for="field-voice">{t('voice')}</label>
          <select id="field-voice" value={voice} onChange={(e) => setVoiceId(e.currentTarget.value)}>
            {voices.data?.map((v) => (
              <option key={v.id} value={v.id}>
                {voiceLabel(v)}
              </option>
            ))}
          </select>
        </div>
      </div>
      {action.error && (
        <p role="alert" class="error">
          {action.error}
        </p>
      )}
      {started && <p role="status">{t('ttsStarted')}</p>}
      <button type="submit" class="primary" disabled={action.busy}>
        {t('speak')}
      </button>
    </form>
  );
}

export function LibraryPage() {
  const { t, lang } = useI18n();
  const podcasts = useLoad(() => must<List<Podcast>>(api.GET('/v1/podcasts', { params: { query: { limit: 50 } } })), []);
  const audios = useLoad(() => must<List<Audio>>(api.GET('/v1/audios', { params: { query: { limit: 50, type: 'tts' } } })), []);

  return (
    <>
      <section class="card">
        <h1>{t('navLibrary')}</h1>
        <h2>{t('podcasts')}</h2>
        {podcasts.error && (
          <p role="alert" class="error">
            {podcasts.error}
          </p>
        )}
        {podcasts.data?.items.length === 0 && <p class="muted">{t('nothingYet')}</p>}
        <ul class="items">
          {podcasts.data?.items.map((p) => (
            <li key={p.id} class="item">
              <a href={`#/podcasts/${p.id}`}>{p.title ?? t('untitled')}</a>
              <p class="muted">
                {t(STATUS_KEYS[p.status] ?? 'statusProcessing')} · {p.duration != null ? clock(p.duration) : '—'} · {formatDate(p.createdAt, lang)}
              </p>
            </li>
          ))}
        </ul>
      </section>
      <section class="card">
        <div class="page-head">
          <h2>{t('audios')}</h2>
          <button type="button" onClick={audios.reload}>
            {t('refresh')}
          </button>
        </div>
        {audios.error && (
          <p role="alert" class="error">
            {audios.error}
          </p>
        )}
        {audios.data?.items.length === 0 && <p class="muted">{t('nothingYet')}</p>}
        <ul class="items">
          {audios.data?.items.map((a) => (
            <AudioRow key={`${a.id}:${a.title}:${a.isPublic}`} audio={a} onChanged={audios.reload} />
          ))}
        </ul>
      </section>
      <SpeakForm onStarted={audios.reload} />
    </>
  );
}
