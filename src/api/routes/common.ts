import type { Context } from 'koa';
import { z } from 'zod';
import { AppError } from '../../errors';

export const IdParams = z.object({ id: z.uuid('must be a UUID') });

/**
 * Some character that String.prototype.trim keeps, spelled out (not \S) so that every tool reading
 * the OpenAPI pattern agrees with JavaScript on what is blank: a text matching it is never empty once trimmed.
 */
export const NOT_BLANK = /[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;

/** A query integer: digits only (an empty `?offset=` is not 0, as Number('') would have it). */
const queryInt = (min: number, max: number, fallback: number) =>
  z
    .preprocess((v) => (typeof v === 'string' && !/^\d+$/.test(v) ? NaN : v), z.coerce.number({ error: 'must be a whole number' }).int().min(min).max(max))
    .default(fallback);

export const ListQuery = z.object({
  limit: queryInt(1, 100, 20),
  offset: queryInt(0, 1_000_000, 0),
});

/** The Idempotency-Key header (1–255 characters), if any. */
export function idempotencyKeyOf(ctx: Context): string | undefined {
  const raw = ctx.get('idempotency-key');
  if (raw === '') return undefined;
  if (raw.length > 255 || !/^[\x21-\x7e]+$/.test(raw)) {
    throw new AppError('VALIDATION_FAILED', 'Idempotency-Key must be 1–255 visible ASCII characters', {
      fields: [{ field: 'header.Idempotency-Key', message: '1–255 visible ASCII characters' }],
    });
  }
  return raw;
}
