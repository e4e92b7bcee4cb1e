import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { ProviderError } from '../../src/providers/tts/types';

/** Awaits a rejection that must be a ProviderError with the given fields. */
export async function rejectsWith(p: Promise<unknown>, expected: Partial<ProviderError>): Promise<ProviderError> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof ProviderError, `expected ProviderError, got ${String(caught)}`);
  for (const [k, v] of Object.entries(expected)) {
    assert.deepEqual((caught as unknown as Record<string, unknown>)[k], v, `ProviderError.${k}`);
  }
  return caught;
}

export async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}
