import type { Knex } from 'knex';
import { AppError, forbidden } from '../errors';
import type { User, Voice } from '../models';

/** A voice the caller may use: active, and premium only on the pro and team plans. */
export async function assertVoiceUsable(knex: Knex | Knex.Transaction, user: Pick<User, 'plan'>, voiceId: string, field: string): Promise<Voice> {
  const voice = await knex('voices').where({ id: voiceId, is_active: true }).first();
  if (!voice) {
    throw new AppError('VALIDATION_FAILED', `Unknown or inactive voice: ${voiceId}`, {
      fields: [{ field: `body.${field}`, message: 'unknown or inactive voice' }],
    });
  }
  if (voice.is_premium && user.plan !== 'pro' && user.plan !== 'team') {
    throw forbidden(`The voice ${voiceId} is premium: it needs the pro or team plan`);
  }
  return voice;
}

/** The active catalogue, ordered by sort order then id, optionally for one language or provider. */
export function listVoices(knex: Knex, filter: { language?: string; provider?: string }): Promise<Voice[]> {
  const q = knex('voices')
    .where('is_active', true)
    .orderBy([{ column: 'sort_order' }, { column: 'id' }]);
  if (filter.language) q.where('language', filter.language);
  if (filter.provider) q.where('provider', filter.provider);
  return q;
}
