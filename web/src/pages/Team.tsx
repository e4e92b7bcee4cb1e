// Team: API keys (the key is shown once, at creation; revoke) and webhooks (the signing secret
// likewise). API keys need the Team plan, so other plans see why instead of an error.
import { useState } from 'preact/hooks';
import { api, must } from '../api';
import { ErrorNote } from '../components';
import { useAction, useLoad } from '../hooks';
import { formatDate, useI18n } from '../i18n';
import type { ApiKey, List, User, Webhook } from '../types';

function ApiKeys() {
  const { t, lang } = useI18n();
  const keys = useLoad(() => must<List<ApiKey>>(api.GET('/v1/api-keys')), []);
  const [name, setName] = useState('');
  const [scope, setScope] = useState<'tts' | 'podcast' | 'all'>('all');
  const [created, setCreated] = useState<ApiKey | null>(null);
  const action = useAction();

  const create = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      setCreated(await must<ApiKey>(api.POST('/v1/api-keys', { body: { name, scopes: [scope] } })));
      setName('');
      keys.reload();
    });
  };
  const revoke = (id: string) => action.run(async () => (await must(api.DELETE('/v1/api-keys/{id}', { params: { path: { id } } })), keys.reload()));

  return (
    <section class="card">
      <h2>{t('apiKeys')}</h2>
      <ErrorNote message={keys.error} />
      <ul class="items">
        {keys.data?.items.map((k) => (
          <li key={k.id} class="item row-between">
            <span>
              <strong>{k.name}</strong> <code>{k.prefix}…</code>{' '}
              <span class="muted">
                {k.scopes.join(', ')} · {formatDate(k.createdAt, lang)}
              </span>
            </span>
            <button type="button" class="danger" disabled={action.busy} onClick={() => void revoke(k.id)}>
              {t('revoke')}
            </button>
          </li>
        ))}
      </ul>
      {created?.key && (
        <p class="note ok" role="status">
          {t('keyShownOnce')} <code class="secret">{created.key}</code>
        </p>
      )}
      <form class="row" onSubmit={create}>
        <label>
          {t('keyName')}
          <input required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <div class="field">
          <label for="field-scopes">{t('scopes')}</label>
          <select id="field-scopes" value={scope} onChange={(e) => setScope(e.currentTarget.value as typeof scope)}>
            <option value="all">all</option>
            <option value="tts">tts</option>
            <option value="podcast">podcast</option>
          </select>
        </div>
        <button type="submit" class="primary" disabled={action.busy}>
          {t('createKey')}
        </button>
      </form>
      <ErrorNote message={action.error} />
    </section>
  );
}

function Webhooks() {
  const { t, lang } = useI18n();
  const hooks = useLoad(() => must<List<Webhook>>(api.GET('/v1/webhooks')), []);
  const [url, setUrl] = useState('');
  const [created, setCreated] = useState<Webhook | null>(null);
  const action = useAction();

  const add = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      setCreated(await must<Webhook>(api.POST('/v1/webhooks', { body: { url } })));
      setUrl('');
      hooks.reload();
    });
  };
  const remove = (id: string) => action.run(async () => (await must(api.DELETE('/v1/webhooks/{id}', { params: { path: { id } } })), hooks.reload()));

  return (
    <section class="card">
      <h2>{t('webhooks')}</h2>
      <ErrorNote message={hooks.error} />
      <ul class="items">
        {hooks.data?.items.map((h) => (
          <li key={h.id} class="item row-between">
            <span>
              <code>{h.url}</code>{' '}
              <span class="muted">
                {h.events.join(', ')} · {formatDate(h.createdAt, lang)}
              </span>
            </span>
            <button type="button" class="danger" disabled={action.busy} onClick={() => void remove(h.id)}>
              {t('delete')}
            </button>
          </li>
        ))}
      </ul>
      {created?.secret && (
        <p class="note ok" role="status">
          {t('secretShownOnce')} <code class="secret">{created.secret}</code>
        </p>
      )}
      <form class="row" onSubmit={add}>
        <label>
          {t('webhookUrl')}
          <input type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={action.busy}>
          {t('addWebhook')}
        </button>
      </form>
      <ErrorNote message={action.error} />
    </section>
  );
}

export function TeamPage({ user }: { user: User }) {
  const { t } = useI18n();
  return (
    <>
      <h1>{t('navTeam')}</h1>
      {user.plan === 'team' ? (
        <ApiKeys />
      ) : (
        <section class="card">
          <h2>{t('apiKeys')}</h2>
          <p class="muted">{t('apiKeysNeedTeam')}</p>
        </section>
      )}
      <Webhooks />
    </>
  );
}
