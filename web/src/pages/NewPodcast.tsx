// A new podcast: source, title, duration, style, language, voices, review; estimate, then generate.
import { useEffect, useState } from 'preact/hooks';
import type { components } from '../../../clients/typescript/schema';
import { api, must } from '../api';
import { ErrorNote } from '../components';
import { useAction } from '../hooks';
import { clock, languageName, useI18n, type Key } from '../i18n';
import { navigate } from '../router';
import type { Estimate, Podcast } from '../types';
import { useVoices, VoiceSelect } from './Voices';

type Body = components['schemas']['CreatePodcastRequest'];
type SourceType = 'text' | 'url' | 'topic';
const SOURCES: [SourceType, Key][] = [
  ['text', 'sourceText'],
  ['url', 'sourceUrl'],
  ['topic', 'sourceTopic'],
];
const DURATIONS = [1, 2, 5, 10, 15, 20, 30, 60];
const STYLES: [Body['style'] & string, Key][] = [
  ['casual', 'styleCasual'],
  ['formal', 'styleFormal'],
  ['debate', 'styleDebate'],
];

export function NewPodcastPage() {
  const { t, lang } = useI18n();
  const voices = useVoices();
  const [sourceType, setSourceType] = useState<SourceType>('text');
  const [source, setSource] = useState('');
  const [title, setTitle] = useState('');
  const [minutes, setMinutes] = useState(5);
  const [style, setStyle] = useState<Body['style'] & string>('casual');
  const [language, setLanguage] = useState('zh-CN');
  const [hostVoiceId, setHost] = useState('');
  const [guestVoiceId, setGuest] = useState('');
  const [review, setReview] = useState(true);
  const [estimate, setEstimate] = useState<Estimate | null>(null);
  const action = useAction();

  const all = voices.data ?? [];
  const languages = [...new Set(all.map((v) => v.language))].sort();
  const forLanguage = all.filter((v) => v.language === language);
  const choices = forLanguage.length ? forLanguage : all;
  // Keep the voices valid for the language: by default its first two voices every plan may use.
  useEffect(() => {
    if (!choices.length) return;
    const preferred = [...choices.filter((v) => !v.isPremium), ...choices.filter((v) => v.isPremium)];
    // Updates from the current value, not this render's: a voice picked while the list was arriving stays picked.
    const valid = (id: string) => choices.some((v) => v.id === id);
    setHost((current) => (valid(current) ? current : preferred[0]!.id));
    setGuest((current) => (valid(current) ? current : (preferred[1] ?? preferred[0])!.id));
  }, [choices, hostVoiceId, guestVoiceId]);
  useEffect(() => setEstimate(null), [sourceType, source, minutes, style, language, hostVoiceId, guestVoiceId]);

  const body = (): Body => ({
    sourceType,
    sourceContent: source,
    ...(title.trim() ? { title: title.trim() } : {}),
    targetDuration: minutes * 60,
    style,
    language,
    hostVoiceId,
    guestVoiceId,
    review,
  });
  const sourceLabel = t(SOURCES.find(([s]) => s === sourceType)![1]);

  const onEstimate = () => action.run(async () => setEstimate(await must<Estimate>(api.POST('/v1/podcasts/estimate', { body: body() }))));
  const onGenerate = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const created = await must<{ podcast: Podcast }>(api.POST('/v1/podcasts', { body: body() }));
      navigate(`podcasts/${created.podcast.id}`);
    });
  };

  return (
    <section class="card">
      <h1>{t('navNew')}</h1>
      <ErrorNote message={voices.error} />
      <form onSubmit={onGenerate}>
        <div class="field">
          <label for="field-source">{t('source')}</label>
          <select id="field-source" value={sourceType} onChange={(e) => setSourceType(e.currentTarget.value as SourceType)}>
            {SOURCES.map(([s, key]) => (
              <option key={s} value={s}>
                {t(key)}
              </option>
            ))}
          </select>
        </div>
        <label>
          {sourceLabel}
          {sourceType === 'text' ? (
            <textarea rows={8} required value={source} onInput={(e) => setSource(e.currentTarget.value)} />
          ) : sourceType === 'url' ? (
            <input type="url" required value={source} onInput={(e) => setSource(e.currentTarget.value)} />
          ) : (
            <input type="text" required value={source} onInput={(e) => setSource(e.currentTarget.value)} />
          )}
        </label>
        <label>
          {t('title')}
          <input value={title} maxLength={255} onInput={(e) => setTitle(e.currentTarget.value)} />
        </label>
        <div class="row">
          <div class="field">
            <label for="field-duration">{t('duration')}</label>
            <select id="field-duration" value={minutes} onChange={(e) => setMinutes(Number(e.currentTarget.value))}>
              {DURATIONS.map((m) => (
                <option key={m} value={m}>
                  {t('minutes', { n: m })}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="field-style">{t('style')}</label>
            <select id="field-style" value={style} onChange={(e) => setStyle(e.currentTarget.value as typeof style)}>
              {STYLES.map(([s, key]) => (
                <option key={s} value={s}>
                  {t(key)}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="field-language">{t('language')}</label>
            <select id="field-language" value={language} onChange={(e) => setLanguage(e.currentTarget.value)}>
              {(languages.length ? languages : [language]).map((l) => (
                <option key={l} value={l}>
                  {languageName(l, lang)}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div class="row">
          <VoiceSelect id="hostVoice" label={t('hostVoice')} voices={choices} value={hostVoiceId} onChange={setHost} />
          <VoiceSelect id="guestVoice" label={t('guestVoice')} voices={choices} value={guestVoiceId} onChange={setGuest} />
        </div>
        <label class="check">
          <input type="checkbox" checked={review} onChange={(e) => setReview(e.currentTarget.checked)} />
          {t('review')}
        </label>
        {estimate && (
          <p class={estimate.fits ? 'note ok' : 'note warn'} role="status">
            {t('estimateResult', { duration: clock(estimate.estimatedDuration), cost: clock(estimate.quotaCost), remaining: clock(estimate.quotaRemaining) })}{' '}
            {estimate.fits ? t('fits') : t('doesNotFit')}
            {estimate.etaSeconds != null && ` ${t('eta', { eta: clock(estimate.etaSeconds) })}`}
          </p>
        )}
        <ErrorNote message={action.error} />
        <div class="actions">
          <button type="button" disabled={action.busy} onClick={() => void onEstimate()}>
            {t('estimate')}
          </button>
          <button type="submit" class="primary" disabled={action.busy}>
            {t('generate')}
          </button>
        </div>
      </form>
    </section>
  );
}
