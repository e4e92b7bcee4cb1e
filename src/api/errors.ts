import { AppError, type ErrorCode } from '../errors';

/** How each error code of src/errors.ts reaches a client: its HTTP status and API.md's error shape. */
const STATUS: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  QUOTA_EXCEEDED: 402,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

export const ERROR_CODES = Object.keys(STATUS) as [ErrorCode, ...ErrorCode[]];

export const statusOf = (err: AppError) => STATUS[err.code];

export function errorBody(err: AppError) {
  return { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } };
}

export { AppError };
