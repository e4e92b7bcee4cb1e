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
export const searchAttributeFlags: Record<string, 'Keyword'> = Object.fromEntries(
  SEARCH_ATTRIBUTES.map((k) => [k.name, 'Keyword' as const]),
);
