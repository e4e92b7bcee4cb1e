import { ApplicationFailure } from '@temporalio/activity';
import { ProviderError } from '../src/providers/tts/types';
import { QuotaExceededError } from '../src/services/quota';
import { SourceError } from '../src/sources/errors';

/**
 * Turns our classified errors into Temporal failures: the type becomes the job's error_code,
 * non-retryable ones fail the job at once, and a provider's Retry-After sets the next delay.
 * Anything unclassified is rethrown and retried by the activity's policy.
 */
export function asActivityFailure(err: unknown): unknown {
  if (err instanceof ProviderError) {
    return ApplicationFailure.create({
      type: err.code,
      message: err.message,
      nonRetryable: !err.retryable,
      ...(err.retryable && err.retryAfterMs ? { nextRetryDelay: err.retryAfterMs } : {}),
    });
  }
  if (err instanceof SourceError) return ApplicationFailure.create({ type: err.code, message: err.message, nonRetryable: !err.retryable });
  if (err instanceof QuotaExceededError) {
    return ApplicationFailure.create({
      type: 'QUOTA_EXCEEDED',
      message: err.message,
      nonRetryable: true,
      details: [{ required: err.required, available: err.available }],
    });
  }
  return err;
}

export async function classified<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw asActivityFailure(err);
  }
}

export const invalid = (message: string, type = 'INVALID_INPUT') => ApplicationFailure.create({ type, message, nonRetryable: true });
