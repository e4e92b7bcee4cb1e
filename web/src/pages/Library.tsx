// The library: podcasts and text-to-speech audios with status, duration and date; rename,
// public/private and delete for both (a running podcast is canceled instead); and a
// text-to-speech form.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api, must } from '../api';
import { ErrorNote } from '../components';
import { useAction, useLoad } from '../hooks';
import { clock, formatDate, useI18n, type Key } from '../i18n';
import type { Audio, List, Podcast } from '../types';
import { STATUS_KEYS } from './Podcast';
import { useVoices, VoiceSelect } from './Voices';

type Patch = { title?: string | null; isPublic?: boolean };

/**
 * One library entry's controls, the same for a podcast and an audio: rename, public/private
 * (`isPublic` null: nothing to publish yet), and delete after a confirmation, or `stop` (a running
 * podcast: cancel it) in its place.
 */
function LibraryItem(props: {
  title: string | null;
  isPublic: boolean | null;
  patch: (body: Patch) => Promise<unknown>;
  remove: () => Promise<unknown>;
  confirmKey: Key;
  stop?: () => Promise<unknown>;
  onChanged: () => void;
  children: ComponentChildren;
}) {
  const { t } = useI18n();
  const [title, setTitle] = useState(props.title ?? '');
  const [isPublic, setPublic] = useState(props.isPublic ?? false);
  const action = useAction();
  const name = props.title ?? t('untitled');

  const patch = (body: Patch) => action.run(async () => (await props.patch(body), props.onChanged()));
  // Shown at once; put back if the API refuses.
  const makePublic = async (on: boolean) => {
    setPublic(on);
    if (!(await patch({ isPublic: on }))) setPublic(!on);
  };
  const remove = () => {
    if (confirm(t(props.confirmKey, { title: name }))) void action.run(async () => (await props.remove(), props.onChanged()));
  };
  const stop = props.stop;

  return (
    <li class="item">
      <form
        class="rename"
        onSubmit={(e) => {
          e.preventDefault();
          void patch({ title: title.trim() || null });
        }}
      >
        <input aria-label={`${t('rename')}: ${name}`} value={title} maxLength={200} onInput={(e) => setTitle(e.currentTarget.value)} />
        <button type="submit" disabled={action.busy}>
          {t('save')}
        </button>
      </form>
      {props.children}
      <div class="actions">
        {props.isPublic !== null && (
          <label class="check">
            <input type="checkbox" checked={isPublic} disabled={action.busy} onChange={(e) => void makePublic(e.currentTarget.checked)} />
            {t('public')}
          </label>
        )}
        {stop ? (
          <button type="button" disabled={action.busy} onClick={() => void action.run(async () => (await stop(), props.onChanged()))}>
            {t('cancel')}
          </button>
        ) : (
          <button type="button" class="danger" disabled={action.busy} onClick={remove}>
            {t('delete')}
          </button>
        )}
      </div>
      <ErrorNote message={action.error} />
    </li>
  );
}

const FINISHED = new Set(['completed', 'failed', 'canceled']);

function PodcastRow({ podcast: p, onChanged }: { podcast: Podcast; onChanged: () => void }) {
  const { t, lang } = useI18n();
  const path = { params: { path: { id: p.id } } };
  // A job that runs, or a draft that waits for review, is canceled first (the API answers 409 to a delete).
  const running = p.job !== null && !FINISHED.has(p.job.status);
  return (
    <LibraryItem
      title={p.title}
      // Visibility is the podcast's audio's: there is none to publish before the first completion.
      isPublic={p.audioUrl ? p.isPublic : null}
      patch={(body) => must(api.PATCH('/v1/podcasts/{id}', { ...path, body }))}
      remove={() => must(api.DELETE('/v1/podcasts/{id}', path))}
      confirmKey="confirmDeletePodcast"
      stop={running ? () => must(api.POST('/v1/podcasts/{id}/cancel', path)) : undefined}
      onChanged={onChanged}
    >
      <p class="muted">
        <a href={`#/podcasts/${p.id}`}>{p.title ?? t('untitled')}</a> · {t(STATUS_KEYS[p.status] ?? 'statusProcessing')} ·{' '}
        {p.duration != null ? clock(p.duration) : '—'} · {formatDate(p.createdAt, lang)}
      </p>
    </LibraryItem>
  );
}

function AudioRow({ audio, onChanged }: { audio: Audio; onChanged: () => void }) {
  const { t, lang } = useI18n();
  const path = { params: { path: { id: audio.id } } };
  return (
    <LibraryItem
      title={audio.title}
      isPublic={audio.isPublic}
      patch={(body) => must(api.PATCH('/v1/audios/{id}', { ...path, body }))}
      remove={() => must(api.DELETE('/v1/audios/{id}', path))}
      confirmKey="confirmDelete"
      onChanged={onChanged}
    >
      <p class="muted">
        {audio.voiceName ?? ''} · {audio.duration != null ? clock(audio.duration) : '—'} · {formatDate(audio.createdAt, lang)}
      </p>
      <audio controls preload="none" src={`/v1/audios/${encodeURIComponent(audio.id)}/file`} aria-label={audio.title ?? t('untitled')} />
    </LibraryItem>
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
        <VoiceSelect id="voice" label={t('voice')} voices={voices.data ?? []} value={voice} onChange={setVoiceId} />
      </div>
      <ErrorNote message={action.error} />
      {started && <p role="status">{t('ttsStarted')}</p>}
      <button type="submit" class="primary" disabled={action.busy}>
        {t('speak')}
      </button>
    </form>
  );
}

export function LibraryPage() {
  const { t } = useI18n();
  const podcasts = useLoad(() => must<List<Podcast>>(api.GET('/v1/podcasts', { params: { query: { limit: 50 } } })), []);
  const audios = useLoad(() => must<List<Audio>>(api.GET('/v1/audios', { params: { query: { limit: 50, type: 'tts' } } })), []);

  return (
    <>
      <section class="card">
        <h1>{t('navLibrary')}</h1>
        <h2>{t('podcasts')}</h2>
        <ErrorNote message={podcasts.error} />
        {podcasts.data?.items.length === 0 && <p class="muted">{t('nothingYet')}</p>}
        <ul class="items">
          {podcasts.data?.items.map((p) => (
            <PodcastRow key={`${p.id}:${p.title}:${p.isPublic}:${p.status}`} podcast={p} onChanged={podcasts.reload} />
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
        <ErrorNote message={audios.error} />
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
