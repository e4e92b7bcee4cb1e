// Create an account or sign in (email and password, or Google/GitHub when the API has them).
import { useEffect, useState } from 'preact/hooks';
import { session } from '../api';
import { ErrorNote } from '../components';
import { useAction } from '../hooks';
import { useI18n } from '../i18n';
import type { User } from '../types';

const PROVIDER_NAMES: Record<string, string> = { google: 'Google', github: 'GitHub' };

/** Why a Google/GitHub sign-in failed, as the API's callback sent it back (read once, then dropped from the URL). */
function takeSignInError(): string {
  const params = new URLSearchParams(location.search);
  const message = params.get('signInError') ?? '';
  if (message) {
    params.delete('signInError');
    const search = params.toString();
    history.replaceState(null, '', `${location.pathname}${search ? `?${search}` : ''}${location.hash}`);
  }
  return message;
}

export function AuthPage({ onSignedIn }: { onSignedIn: (user: User) => void }) {
  const { t } = useI18n();
  const [mode, setMode] = useState<'register' | 'login'>('register');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [providers, setProviders] = useState<string[]>([]);
  const { busy, error, run } = useAction();
  const [providerError] = useState(takeSignInError);

  useEffect(() => {
    session.config().then(
      (c) => setProviders(c.oauthProviders),
      () => setProviders([]),
    );
  }, []);

  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const s = mode === 'register' ? await session.register(email, password) : await session.login(email, password);
      onSignedIn(s.user);
    });
  };

  return (
    <section class="card narrow">
      <h1>{mode === 'register' ? t('createAccount') : t('signIn')}</h1>
      <p class="muted">{t('welcome')}</p>
      <form onSubmit={submit}>
        <label>
          {t('email')}
          <input type="email" autocomplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          {t('password')}
          <input
            type="password"
            autocomplete={mode === 'register' ? 'new-password' : 'current-password'}
            required
            minLength={8}
            maxLength={128}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <ErrorNote message={error || providerError} />
        <button type="submit" class="primary" disabled={busy}>
          {mode === 'register' ? t('createAccount') : t('signIn')}
        </button>
      </form>
      <p>
        {mode === 'register' ? t('haveAccount') : t('noAccount')}{' '}
        <button type="button" class="link" onClick={() => setMode(mode === 'register' ? 'login' : 'register')}>
          {mode === 'register' ? t('signIn') : t('createAccount')}
        </button>
      </p>
      {providers.length > 0 && (
        <div class="oauth">
          <p class="muted">{t('orWith')}</p>
          {providers.map((p) => (
            <a key={p} class="button" href={`/v1/auth/oauth/${p}?client=studio`}>
              {PROVIDER_NAMES[p] ?? p}
            </a>
          ))}
        </div>
      )}
    </section>
  );
}
