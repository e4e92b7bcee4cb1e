// The plan, the quota bar (used, reserved, remaining, reset date), this month's usage, sign out.
import { api, must } from '../api';
import { ErrorNote } from '../components';
import { useLoad } from '../hooks';
import { clock, formatDate, useI18n, type Key } from '../i18n';
import type { Me, Usage } from '../types';
import { Bar } from './Progress';

const PLAN_KEYS: Record<string, Key> = { free: 'planFree', pro: 'planPro', team: 'planTeam' };

export function AccountPage({ onSignOut }: { onSignOut: () => void }) {
  const { t, lang } = useI18n();
  const me = useLoad(() => must<Me>(api.GET('/v1/me')), []);
  const usage = useLoad(() => must<Usage>(api.GET('/v1/usage')), []);
  const q = me.data?.quota;

  return (
    <section class="card">
      <h1>{t('navAccount')}</h1>
      <ErrorNote message={me.error} />
      {me.data && q && (
        <>
          <p>
            {me.data.user.email} · {t('plan')}: <strong>{t(PLAN_KEYS[me.data.user.plan] ?? 'planFree')}</strong>
          </p>
          <h2>{t('quota')}</h2>
          <Bar label={t('quota')} value={q.limit ? Math.round(((q.used + q.reserved) / q.limit) * 100) : 0} />
          <dl class="facts">
            <dt>{t('quotaUsed')}</dt>
            <dd>{clock(q.used)}</dd>
            <dt>{t('quotaReserved')}</dt>
            <dd>{clock(q.reserved)}</dd>
            <dt>{t('quotaRemaining')}</dt>
            <dd>
              {clock(q.remaining)} / {clock(q.limit)}
            </dd>
            <dt>{t('quotaResets')}</dt>
            <dd>{formatDate(q.resetAt, lang)}</dd>
          </dl>
        </>
      )}
      {usage.data && (
        <>
          <h2>{t('usageThisMonth')}</h2>
          <dl class="facts">
            <dt>{t('requests')}</dt>
            <dd>{usage.data.totals.requests}</dd>
            <dt>{t('duration')}</dt>
            <dd>{clock(usage.data.totals.duration)}</dd>
            <dt>{t('characters')}</dt>
            <dd>{usage.data.totals.chars}</dd>
          </dl>
        </>
      )}
      <button type="button" onClick={onSignOut}>
        {t('signOut')}
      </button>
    </section>
  );
}
