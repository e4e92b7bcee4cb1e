// Team: API keys (the key is shown once, at creation; revoke) and webhooks (the signing secret
// likewise). API keys need the Team plan, so other plans see why instead of an error.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api, must } from '../api';
import { ErrorNote } from '../components';
import { useAction, useLoad } from '../hooks';
import { formatDate, useI18n } from '../i18n';
import type { ApiKey, List, User, Webhook } from '../types';

/**
 * What API keys and webhooks share: a card listing them, each with a button that deletes it, and a
 * form (its fields are `children`) that creates one and shows its secret, which the API gives only
 * at creation.
 */
function SecretsCard<T extends { id: string }>(props: {
  title: string;
  list: () => Promise<List<T>>;
  describe: (item: T) => ComponentChildren;
  remove: (id: string) => Promise<unknown>;
  removeLabel: string;
  create: () => Promise<T>;
  createLabel: string;
  secret: (created: T) => string | undefined;
  secretNote: string;
  children: ComponentChildren;
}) {
  const items = useLoad(props.list, []);
  const [created, setCreated] = useState<T | null>(null);
  const action = useAction();
  const secret = created && props.secret(created);

  const create = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      setCreated(await props.create());
      items.reload();
    });
  };
  const remove = (id: string) => action.run(async () => (await props.remove(id), items.reload()));

  return (
    <section class="card">
      <h2>{props.title}</h2>
      <ErrorNote message={items.error} />
      <ul class="items">
        {items.data?.items.map((item) => (
          <li key={item.id} class="item row-between">
            <span>{props.describe(item)}</span>
            <button type="button" class="danger" disabled={action.busy} onClick={() => void remove(item.id)}>
              {props.removeLabel}
            </button>
          </li>
        ))}
      </ul>
      {secret && (
        <p class="note ok" role="status">
          {props.secretNote} <code class="secret">{secret}</code>
        </p>
      )}
      <form class="row" onSubmit={create}>
        {props.children}
        <button type="submit" class="primary" disabled={action.busy}>
          {props.createLabel}
        </button>
      </form>
      <ErrorNote message={action.error} />
    </section>
  );
}

function ApiKeys() {
  const { t, lang } = useI18n();
  const [name, setName] = useState('');
  const [scope, setScope] = useState<'tts' | 'podcast' | 'all'>('all');
  const create = async () => {
    const key = await must<ApiKey>(api.POST('/v1/api-keys', { body: { name, scopes: [scope] } }));
    setName('');
    return key;
  };

  return (
    <SecretsCard<ApiKey>
      title={t('apiKeys')}
      list={() => must<List<ApiKey>>(api.GET('/v1/api-keys'))}
      describe={(k) => (
        <>
          <strong>{k.name}</strong> <code>{k.prefix}…</code>{' '}
          <span class="muted">
            {k.scopes.join(', ')} · {formatDate(k.createdAt, lang)}
          </span>
        </>
      )}
      remove={(id) => must(api.DELETE('/v1/api-keys/{id}', { params: { path: { id } } }))}
      removeLabel={t('revoke')}
      create={create}
      createLabel={t('createKey')}
      secret={(k) => k.key}
      secretNote={t('keyShownOnce')}
    >
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
    </SecretsCard>
  );
}

function Webhooks() {
  const { t, lang } = useI18n();
  const [url, setUrl] = useState('');
  const create = async () => {
    const hook = await must<Webhook>(api.POST('/v1/webhooks', { body: { url } }));
    setUrl('');
    return hook;
  };

  return (
    <SecretsCard<Webhook>
      title={t('webhooks')}
      list={() => must<List<Webhook>>(api.GET('/v1/webhooks'))}
      describe={(h) => (
        <>
          <code>{h.url}</code>{' '}
          <span class="muted">
            {h.events.join(', ')} · {formatDate(h.createdAt, lang)}
          </span>
        </>
      )}
      remove={(id) => must(api.DELETE('/v1/webhooks/{id}', { params: { path: { id } } }))}
      removeLabel={t('delete')}
      create={create}
      createLabel={t('addWebhook')}
      secret={(h) => h.secret}
      secretNote={t('secretShownOnce')}
    >
      <label>
        {t('webhookUrl')}
        <input type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
      </label>
    </SecretsCard>
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
