import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { conflict } from '../errors';

/**
 * Idempotency-Key for POST /v1/podcasts and /v1/audios. The key's row is inserted in the same
 * transaction that creates the resource: a concurrent request with the same key waits on the
 * row's unique index until the first commits, then gets the first result back. So ten identical
 * requests at once create one podcast, and a client retrying after a dropped connection gets
 * the first answer back (the result is kept as JSON: dates come back as ISO strings).
 */
const TTL_HOURS = 24;
// Creating is the only outcome that is stored; the column keeps the status the API answered it with.
const ACCEPTED = 202;

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export const requestHash = (body: unknown) => crypto.createHash('sha256').update(canonical(body)).digest('hex');

export interface IdempotentResult<T> {
  value: T;
  /** True when `create` ran now; false when this replays an earlier request's result. */
  created: boolean;
}

export async function idempotent<T>(
  knex: Knex,
  scope: { userId: string; endpoint: string; key: string | undefined; body: unknown },
  create: (trx: Knex.Transaction) => Promise<T>,
): Promise<IdempotentResult<T>> {
  if (!scope.key) return { value: await knex.transaction(create), created: true };
  const hash = requestHash(scope.body);
  const where = { user_id: scope.userId, endpoint: scope.endpoint, key: scope.key };
  return knex.transaction(async (trx) => {
    // A key older than the replay window is forgotten, so it can be used afresh.
    await trx('idempotency_keys')
      .where(where)
      .andWhere('created_at', '<', trx.raw(`NOW() - INTERVAL '${TTL_HOURS} hours'`))
      .delete();
    const inserted = await trx('idempotency_keys')
      .insert({ ...where, request_hash: hash })
      .onConflict(['user_id', 'endpoint', 'key'])
      .ignore()
      .returning('key');
    if (inserted.length === 0) {
      const row = await trx('idempotency_keys').where(where).first();
      if (!row) throw conflict('A request with this Idempotency-Key is still in progress');
      if (row.request_hash !== hash) throw conflict('This Idempotency-Key was already used with a different request body');
      if (row.response_status === null) throw conflict('A request with this Idempotency-Key is still in progress');
      return { value: row.response_body as T, created: false };
    }
    const value = await create(trx);
    await trx('idempotency_keys')
      .where(where)
      .update({ response_status: ACCEPTED, response_body: JSON.stringify(value) });
    return { value, created: true };
  });
}

/** Forgets a key whose request could not be carried out, so that the client's retry runs anew. */
export async function forgetIdempotencyKey(knex: Knex, scope: { userId: string; endpoint: string; key: string | undefined }) {
  if (scope.key) await knex('idempotency_keys').where({ user_id: scope.userId, endpoint: scope.endpoint, key: scope.key }).delete();
}
