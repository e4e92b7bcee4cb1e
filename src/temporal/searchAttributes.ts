import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes, so operators can find a user's or a podcast's runs in the Temporal UI
 * (e.g. `AimakeUserId = "…"`). Registered at dev-server start and by the worker at start.
 */
export const UserIdKey = defineSearchAttributeKey('AimakeUserId', SearchAttributeType.KEYWORD);
export const PodcastIdKey = defineSearchAttributeKey('AimakePodcastId', SearchAttributeType.KEYWORD);
export const AudioIdKey = defineSearchAttributeKey('AimakeAudioId', SearchAttributeType.KEYWORD);
export const JobKindKey = defineSearchAttributeKey('AimakeJobKind', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [UserIdKey, PodcastIdKey, AudioIdKey, JobKindKey];

/** As the Temporal CLI's --search-attribute flags expect them (name → type). */
export const searchAttributeFlags: Record<string, 'Keyword'> = Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k.name, 'Keyword' as const]));

/**
 * Registers any of our search attributes the namespace lacks. The dev server gets them at start;
 * a production cluster gets them from the worker's first start.
 */
export async function ensureSearchAttributes(
  operator: {
    listSearchAttributes(req: { namespace: string }): Promise<{ customAttributes?: Record<string, unknown> | null }>;
    addSearchAttributes(req: { namespace: string; searchAttributes: Record<string, number> }): Promise<unknown>;
  },
  namespace: string,
): Promise<string[]> {
  const existing = await operator.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTES.filter((k) => !(k.name in (existing.customAttributes ?? {})));
  if (missing.length === 0) return [];
  // INDEXED_VALUE_TYPE_KEYWORD = 2 in Temporal's API enum.
  await operator.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((k) => [k.name, 2])) });
  return missing.map((k) => k.name);
}
