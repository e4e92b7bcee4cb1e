import type { Knex } from 'knex';

/**
 * Quota is seconds of generated audio per month (seed 3.2, 3.3, 3.5). A job reserves seconds
 * when it is accepted, adjusts the reservation once its script's length is known, and settles
 * the real duration (rounded up) at completion, or releases it on failure or cancel.
 *
 * Every reservation is one row keyed by the job, so each step applies once however often an
 * activity is retried; users.quota_reserved holds the sum of open reservations, and every
 * reservation is one conditional UPDATE on the user's row, which PostgreSQL re-checks after
 * waiting for the row lock: concurrent jobs of one user can never together overspend.
 */
export class QuotaExceededError extends Error {
  constructor(
    readonly required: number,
    readonly available: number,
  ) {
    super(`Not enough quota: this needs ${required} s of audio, ${Math.max(0, available)} s remain`);
    this.name = 'QuotaExceededError';
  }
}

export const podcastJobKey = (jobId: string) => `podcast-job:${jobId}`;
export const audioJobKey = (audioId: string) => `audio:${audioId}`;

async function available(db: Knex | Knex.Transaction, userId: string): Promise<number> {
  const row = await db('users')
    .where({ id: userId })
    .first<{ available: number } | undefined>(db.raw('quota_limit - quota_used - quota_reserved AS available'));
  return row ? Number(row.available) : 0;
}

/** Holds `seconds` for a job. Idempotent per job key; throws QuotaExceededError when they are not there. */
export async function reserveQuota(knex: Knex | Knex.Transaction, args: { userId: string; jobKey: string; seconds: number }) {
  const seconds = Math.max(1, Math.ceil(args.seconds));
  const run = async (trx: Knex.Transaction) => {
    const inserted = await trx('quota_reservations')
      .insert({ user_id: args.userId, job_key: args.jobKey, seconds })
      .onConflict('job_key')
      .ignore()
      .returning('id');
    if (inserted.length === 0) return; // already reserved by an earlier attempt
    const updated = await trx('users')
      .where({ id: args.userId })
      .andWhereRaw('quota_limit - quota_used - quota_reserved >= ?', [seconds])
      .update({ quota_reserved: trx.raw('quota_reserved + ?', [seconds]), updated_at: trx.fn.now() })
      .returning('id');
    if (updated.length === 0) throw new QuotaExceededError(seconds, await available(trx, args.userId));
  };
  return 'isTransaction' in knex && knex.isTransaction ? run(knex as Knex.Transaction) : (knex as Knex).transaction(run);
}

/** Resizes an open reservation (e.g. to the script's estimated length). */
export async function adjustReservation(knex: Knex, jobKey: string, seconds: number): Promise<void> {
  const wanted = Math.max(1, Math.ceil(seconds));
  await knex.transaction(async (trx) => {
    const r = await trx('quota_reservations').where({ job_key: jobKey, status: 'reserved' }).forUpdate().first();
    if (!r) return;
    const delta = wanted - r.seconds;
    if (delta === 0) return;
    const q = trx('users').where({ id: r.user_id });
    if (delta > 0) q.andWhereRaw('quota_limit - quota_used - quota_reserved >= ?', [delta]);
    const updated = await q.update({ quota_reserved: trx.raw('quota_reserved + ?', [delta]), updated_at: trx.fn.now() }).returning('id');
    if (updated.length === 0) throw new QuotaExceededError(wanted, r.seconds + (await available(trx, r.user_id)));
    await trx('quota_reservations').where({ id: r.id }).update({ seconds: wanted, updated_at: trx.fn.now() });
  });
}

/**
 * Charges the real duration, inside the caller's completion transaction. Returns the seconds
 * charged, or null when this job was already settled (or released), so callers write their usage
 * rows only once. The charge never takes quota_used past quota_limit.
 */
export async function settleQuota(trx: Knex.Transaction, jobKey: string, durationSec: number): Promise<number | null> {
  const [r] = await trx('quota_reservations')
    .where({ job_key: jobKey, status: 'reserved' })
    .update({ status: 'settled', updated_at: trx.fn.now() })
    .returning(['id', 'user_id', 'seconds']);
  if (!r) return null;
  const user = await trx('users').where({ id: r.user_id }).forUpdate().first('quota_limit', 'quota_used', 'quota_reserved');
  if (!user) return null;
  const headroom = user.quota_limit - user.quota_used - (user.quota_reserved - r.seconds);
  const charged = Math.max(0, Math.min(Math.ceil(durationSec), headroom));
  await trx('users')
    .where({ id: r.user_id })
    .update({
      quota_reserved: trx.raw('quota_reserved - ?', [r.seconds]),
      quota_used: trx.raw('quota_used + ?', [charged]),
      updated_at: trx.fn.now(),
    });
  await trx('quota_reservations').where({ id: r.id }).update({ charged });
  return charged;
}

/** Gives a job's reservation back (failure, cancel). Safe to call any number of times. */
export async function releaseQuota(knex: Knex | Knex.Transaction, jobKey: string): Promise<boolean> {
  const run = async (trx: Knex.Transaction) => {
    const [r] = await trx('quota_reservations')
      .where({ job_key: jobKey, status: 'reserved' })
      .update({ status: 'released', updated_at: trx.fn.now() })
      .returning(['user_id', 'seconds']);
    if (!r) return false;
    await trx('users')
      .where({ id: r.user_id })
      .update({ quota_reserved: trx.raw('quota_reserved - ?', [r.seconds]), updated_at: trx.fn.now() });
    return true;
  };
  return 'isTransaction' in knex && knex.isTransaction ? run(knex as Knex.Transaction) : (knex as Knex).transaction(run);
}
