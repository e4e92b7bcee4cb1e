import type { Middleware } from 'koa';
import { AppError } from '../../errors';
import { errorBody, statusOf } from '../errors';
import type { Logger } from '../../logger';

/**
 * Turns every failure into the API's error shape. Errors raised by Koa's own middleware (body
 * parsing, size limits) carry an HTTP status; anything else is an INTERNAL error whose details
 * stay in the log, never in the response.
 */
export function errorHandler(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new AppError('NOT_FOUND', `No route for ${ctx.method} ${ctx.path}`);
    } catch (err) {
      const apiError = toApiError(err);
      if (apiError.code === 'INTERNAL') logger.error({ err, requestId: ctx.state.requestId }, 'unhandled error');
      ctx.status = statusOf(apiError);
      ctx.body = errorBody(apiError);
      if (apiError.retryAfterSec !== undefined) ctx.set('Retry-After', String(apiError.retryAfterSec));
      // The unread rest of an oversized body would otherwise be taken for the next request.
      if (apiError.code === 'PAYLOAD_TOO_LARGE') ctx.set('Connection', 'close');
    }
  };
}

export function toApiError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { status?: number; type?: string; expose?: boolean; message?: string };
  switch (e?.status) {
    case 400:
      return new AppError(
        'VALIDATION_FAILED',
        e.type === 'entity.parse.failed' || /JSON/i.test(e.message ?? '') ? 'Malformed JSON body' : (e.message ?? 'Bad request'),
      );
    case 413:
      return new AppError('PAYLOAD_TOO_LARGE', 'Request body is too large');
    case 415:
      return new AppError('VALIDATION_FAILED', 'Unsupported Content-Type: send application/json');
    default:
      return new AppError('INTERNAL', 'Internal server error');
  }
}
