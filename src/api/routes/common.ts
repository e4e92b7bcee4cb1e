import type { Context } from 'koa';
import { z } from 'zod';
import { AppError } from '../../errors';

export const IdParams = z.object({ id: z.uuid('must be a UUID') });

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
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
