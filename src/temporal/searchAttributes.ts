import { setTimeout as sleep } from 'node:timers/promises';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes, so operators can find a user's or a podcast's runs in the Temporal UI
 * (e.g. `AimakeUserId = "…"`). Registered by whichever process meets the namespace first.
 */
export const UserIdKey = defineSearchAttributeKey('AimakeUserId', SearchAttributeType.KEYWORD);
export const PodcastIdKey = defineSearchAttributeKey('AimakePodcastId', SearchAttributeType.KEYWORD);
export const AudioIdKey = defineSearchAttributeKey('AimakeAudioId', SearchAttributeType.KEYWORD);
export const JobKindKey = defineSearchAttributeKey('AimakeJobKind', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [UserIdKey, PodcastIdKey, AudioIdKey, JobKindKey];

/** As the Temporal CLI's --search-attribute flags expect them (name → type). */
export const searchAttributeFlags: Record<string, 'Keyword'> = Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k.name, 'Keyword' as const]));

/** How long a first start waits for newly added attributes to be listed before it gives up (and is retried). */
const VISIBLE_WITHIN_MS = 20_000;

type SearchAttributeOperator = {
  listSearchAttributes(req: { namespace: string }): Promise<{ customAttributes?: Record<string, unknown> | null }>;
  addSearchAttributes(req: { namespace: string; searchAttributes: Record<string, number> }): Promise<unknown>;
};

async function missingFrom(operator: SearchAttributeOperator, namespace: string) {
  const existing = await operator.listSearchAttributes({ namespace });
  return SEARCH_ATTRIBUTES.filter((k) => !(k.name in (existing.customAttributes ?? {})));
}

/**
 * Registers any of our search attributes the namespace lacks and returns their names. Whichever
 * process starts first does it (the dev server at start, the API on first use, the worker at
 * start), so it tolerates another process registering them at the same moment, and returns only
 * once they are listed, because a run cannot start with attributes the namespace does not know.
 */
export async function ensureSearchAttributes(operator: SearchAttributeOperator, namespace: string): Promise<string[]> {
  const missing = await missingFrom(operator, namespace);
  if (missing.length === 0) return [];
  try {
    // INDEXED_VALUE_TYPE_KEYWORD = 2 in Temporal's API enum.
    await operator.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((k) => [k.name, 2])) });
  } catch (err) {
    // Some servers refuse names another process has just added; all that matters is that they exist.
    if ((await missingFrom(operator, namespace)).length > 0) throw err;
    return [];
  }
  // Some servers (e.g. with Elasticsearch visibility) list new attributes only after a moment.
  const deadline = Date.now() + VISIBLE_WITHIN_MS;
  for (;;) {
    const still = await missingFrom(operator, namespace);
    if (still.length === 0) return missing.map((k) => k.name);
    if (Date.now() > deadline) throw new Error(`Search attributes ${still.map((k) => k.name).join(', ')} are not listed yet on namespace ${namespace}`);
    await sleep(250);
  }
}
