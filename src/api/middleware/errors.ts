import type { Middleware } from 'koa';
import { ApiError } from '../errors';
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
      if (ctx.status === 404 && ctx.body === undefined) throw new ApiError('NOT_FOUND', `No route for ${ctx.method} ${ctx.path}`);
    } catch (err) {
      const apiError = toApiError(err);
      if (apiError.code === 'INTERNAL') logger.error({ err, requestId: ctx.state.requestId }, 'unhandled error');
      ctx.status = apiError.status;
      ctx.body = apiError.toBody();
      for (const [k, v] of Object.entries(apiError.headers ?? {})) ctx.set(k, v);
      // The unread rest of an oversized body would otherwise be taken for the next request.
      if (apiError.code === 'PAYLOAD_TOO_LARGE') ctx.set('Connection', 'close');
    }
  };
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { status?: number; type?: string; expose?: boolean; message?: string };
  switch (e?.status) {
    case 400:
      return new ApiError('VALIDATION_FAILED', e.type === 'entity.parse.failed' || /JSON/i.test(e.message ?? '') ? 'Malformed JSON body' : (e.message ?? 'Bad request'));
    case 413:
      return new ApiError('PAYLOAD_TOO_LARGE', 'Request body is too large');
    case 415:
      return new ApiError('VALIDATION_FAILED', 'Unsupported Content-Type: send application/json');
    default:
      return new ApiError('INTERNAL', 'Internal server error');
  }
}
