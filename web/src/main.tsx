// The studio: a session check, a header with navigation and the language switcher, and one page
// per hash route (#/new, #/library, #/voices, #/team, #/account, #/podcasts/<id>).
import { render } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useState } from 'preact/hooks';
import { session, SIGNED_OUT } from './api';
import { I18n, initialLang, translator, type Key, type Lang } from './i18n';
import { AccountPage } from './pages/Account';
import { AuthPage } from './pages/Auth';
import { LibraryPage } from './pages/Library';
import { NewPodcastPage } from './pages/NewPodcast';
import { PodcastPage } from './pages/Podcast';
import { TeamPage } from './pages/Team';
import { VoicesPage } from './pages/Voices';
import type { User } from './types';

const currentRoute = () => location.hash.replace(/^#\/?/, '') || 'new';

function useRoute() {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const changed = () => setRoute(currentRoute());
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}

const NAV: [string, Key][] = [
  ['new', 'navNew'],
  ['library', 'navLibrary'],
  ['voices', 'navVoices'],
  ['team', 'navTeam'],
  ['account', 'navAccount'],
];

function App() {
  const [lang, setLang] = useState<Lang>(initialLang);
  const i18n = useMemo(() => ({ lang, t: translator(lang) }), [lang]);
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const route = useRoute();
  const { t } = i18n;

  useEffect(() => {
    session.current().then(
      (s) => setUser(s.user),
      () => setUser(null),
    );
    const signedOut = () => setUser(null);
    window.addEventListener(SIGNED_OUT, signedOut);
    return () => window.removeEventListener(SIGNED_OUT, signedOut);
  }, []);
  // Before the browser paints: the page's lang (which screen readers pronounce by) never lags its text.
  useLayoutEffect(() => {
    document.documentElement.lang = lang;
    document.title = t('appName');
    const url = new URL(location.href);
    url.searchParams.set('lang', lang);
    history.replaceState(null, '', url);
  }, [lang, t]);

  const signOut = async () => {
    await session.logout().catch(() => undefined);
    setUser(null);
  };

  let page;
  if (user === undefined) page = <p>{t('loading')}</p>;
  else if (user === null) page = <AuthPage onSignedIn={setUser} />;
  else if (route === 'new') page = <NewPodcastPage />;
  else if (route === 'library') page = <LibraryPage />;
  else if (route === 'voices') page = <VoicesPage />;
  else if (route === 'team') page = <TeamPage user={user} />;
  else if (route === 'account') page = <AccountPage onSignOut={signOut} />;
  else if (route.startsWith('podcasts/')) page = <PodcastPage key={route} id={route.slice('podcasts/'.length)} />;
  else page = <p>{t('notFound')}</p>;

  return (
    <I18n.Provider value={i18n}>
      <header class="top">
        <a class="brand" href="#/new">
          {t('appName')}
        </a>
        {user && (
          <nav aria-label="Studio">
            {NAV.map(([r, key]) => (
              <a key={r} href={`#/${r}`} aria-current={route === r ? 'page' : undefined}>
                {t(key)}
              </a>
            ))}
          </nav>
        )}
        <select class="lang" aria-label={t('uiLanguage')} value={lang} onChange={(e) => setLang(e.currentTarget.value as Lang)}>
          <option value="en">English</option>
          <option value="zh-CN">中文</option>
        </select>
      </header>
      <main>{page}</main>
    </I18n.Provider>
  );
}

render(<App />, document.getElementById('app')!);
