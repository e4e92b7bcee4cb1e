import type { Knex } from 'knex';
import { ApiError, forbidden } from '../api/errors';
import type { User, Voice } from '../models';

/** A voice the caller may use: active, and premium only on the pro and team plans. */
export async function assertVoiceUsable(knex: Knex | Knex.Transaction, user: Pick<User, 'plan'>, voiceId: string, field: string): Promise<Voice> {
  const voice = await knex('voices').where({ id: voiceId, is_active: true }).first();
  if (!voice) {
    throw new ApiError('VALIDATION_FAILED', `Unknown or inactive voice: ${voiceId}`, { fields: [{ field: `body.${field}`, message: 'unknown or inactive voice' }] });
  }
  if (voice.is_premium && user.plan !== 'pro' && user.plan !== 'team') {
    throw forbidden(`The voice ${voiceId} is premium: it needs the pro or team plan`);
  }
  return voice;
}
