import type { Knex } from 'knex';
import type { AudioJob } from '../models';
import { audioJobKey, releaseQuota } from '../services/quota';

/** A text-to-speech job ends completed or failed; a finished one never changes again. */
export const AUDIO_FINISHED_STATUSES: readonly AudioJob['status'][] = ['completed', 'failed'];

/** Fails an unfinished audio job and releases its reservation, in one transaction. */
export async function failAudioJob(knex: Knex, a: { audioId: string; code: string; message: string }): Promise<boolean> {
  return knex.transaction(async (trx) => {
    const n = await trx('audio_jobs')
      .where({ id: a.audioId })
      .whereNotIn('status', AUDIO_FINISHED_STATUSES)
      .update({ status: 'failed', error_code: a.code.slice(0, 50), error_message: a.message, completed_at: trx.fn.now() });
    await releaseQuota(trx, audioJobKey(a.audioId));
    return n > 0;
  });
}
