/**
 * The rows of every table, as PostgreSQL returns them (snake_case, as the seed names them).
 * Registering them with knex (below) types every `knex('table')` query, so the whole code base
 * reads and writes the database one way: knex's query builder over typed rows. NUMERIC and
 * BIGINT columns arrive as numbers (see src/db).
 */

export type Plan = 'free' | 'pro' | 'team';

export interface User {
  id: string;
  email: string;
  password_hash: string | null;
  name: string | null;
  avatar_url: string | null;
  plan: Plan;
  quota_limit: number;
  quota_used: number;
  quota_reserved: number;
  quota_reset_at: Date | null;
  google_id: string | null;
  github_id: string | null;
  is_active: boolean;
  is_verified: boolean;
  created_at: Date;
  updated_at: Date;
  last_login_at: Date | null;
}

export interface Voice {
  id: string;
  name: string;
  name_zh: string | null;
  provider: string;
  gender: string | null;
  language: string | null;
  style: string | null;
  description: string | null;
  preview_url: string | null;
  avatar_url: string | null;
  is_premium: boolean;
  is_active: boolean;
  sort_order: number;
  created_at: Date;
}

export interface Audio {
  id: string;
  user_id: string;
  title: string | null;
  text: string;
  text_length: number;
  voice_id: string | null;
  audio_url: string;
  audio_format: string;
  duration: number;
  file_size: number | null;
  speed: number;
  emotion: string;
  type: 'tts' | 'podcast';
  is_public: boolean;
  is_deleted: boolean;
  created_at: Date;
  updated_at: Date;
}

// The domain objects the services answer with and src/api/views.ts renders live here, so that the
// views depend on no service (activities render webhook events with them).

/** An audio of the library, with its voice's name. */
export type AudioWithVoice = Audio & { voice_name: string | null };

/** What GET /v1/audios/:id finds: the finished audio, or the job still making it (or failed). */
export type AudioLookup = { audio: AudioWithVoice; job?: undefined } | { audio?: undefined; job: AudioJob };

export interface ScriptLine {
  role: 'host' | 'guest';
  text: string;
  voice_id: string;
  /** Not in the API's script: the title of the section (chapter) this line opens. */
  section?: string;
}

export type PodcastStatus = 'draft' | 'processing' | 'completed' | 'failed' | 'canceled';
/** `file`: source_content is the id of the caller's upload (see Upload). */
export type SourceType = 'url' | 'text' | 'topic' | 'file';

export interface Podcast {
  id: string;
  user_id: string;
  title: string | null;
  source_type: SourceType;
  source_content: string;
  target_duration: number;
  style: string;
  language: string;
  script: ScriptLine[] | null;
  host_voice_id: string | null;
  guest_voice_id: string | null;
  audio_url: string | null;
  duration: number | null;
  status: PodcastStatus;
  tts_provider: string | null;
  created_at: Date;
  updated_at: Date;
}

export type JobStatus = 'pending' | 'analyzing' | 'scripting' | 'synthesizing' | 'processing' | 'completed' | 'failed' | 'canceled';

export interface PodcastJob {
  id: string;
  podcast_id: string;
  status: JobStatus;
  progress: number;
  current_step: string | null;
  error_code: string | null;
  error_message: string | null;
  started_at: Date | null;
  completed_at: Date | null;
  created_at: Date;
  /** Why the podcast will be shorter than its target, when the source ran out (migration 012). */
  length_note?: string | null;
  /** Lines the job will speak, from its plan (migration 012). */
  lines_total?: number | null;
  /** Lines spoken so far, of lines_total (migration 017). */
  lines_done?: number | null;
  /** Not a column: seconds until the job should end, where a read asks for it (jobEtaSql). */
  eta_seconds?: number | null;
  /** The stitched file's lines (migration 012), written by the stitcher. */
  timeline?: TimelineEntry[] | null;
  /** Not a column: the job's place in its provider's queue, where a read asks for it (queuePositionSql). */
  queue_position?: number | null;
}

/** One line of a stitched podcast: which spoken line, and where it sits in the file (seconds). */
export interface TimelineEntry {
  index: number;
  key: string;
  start: number;
  end: number;
  /** The line as it was spoken (the script may be edited afterwards). */
  role: 'host' | 'guest';
  text: string;
  voiceId: string;
  section?: string;
}

/** A podcast with its newest job: what every podcast use case answers with. */
export interface PodcastWithJob {
  podcast: Podcast;
  job: PodcastJob | null;
  /** Whether its audio (the podcast's `audios` row, where visibility lives) is public; false without one. */
  isPublic: boolean;
}

export interface PodcastSegment {
  podcast_id: string;
  line_index: number;
  text_hash: string;
  storage_key: string;
  duration: number;
  chars: number;
  provider: string;
  api_cost: number | null;
  job_id: string | null;
  /** In a file a completed generation was charged for (migration 012). */
  paid: boolean;
  created_at: Date;
}

export interface AudioJob {
  id: string;
  user_id: string;
  voice_id: string;
  title: string | null;
  text: string;
  text_length: number;
  speed: number;
  emotion: string;
  audio_format: 'mp3' | 'wav';
  status: 'pending' | 'synthesizing' | 'processing' | 'completed' | 'failed';
  progress: number;
  current_step: string | null;
  error_code: string | null;
  error_message: string | null;
  tts_provider: string | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
}

export interface Subscription {
  id: string;
  user_id: string;
  plan: 'pro' | 'team';
  status: string;
  stripe_customer_id: string | null;
  stripe_subscription_id: string | null;
  stripe_price_id: string | null;
  current_period_start: Date | null;
  current_period_end: Date | null;
  cancel_at: Date | null;
  canceled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** A lease on preparing a Stripe Checkout for one user (see BillingService.checkout). */
export interface CheckoutClaim {
  user_id: string;
  token: string;
  expires_at: Date;
}

export interface UsageLog {
  id: string;
  user_id: string;
  type: 'tts' | 'podcast';
  chars_used: number;
  duration_used: number;
  audio_id: string | null;
  podcast_id: string | null;
  provider: string | null;
  api_cost: number | null;
  created_at: Date;
}

export interface ApiKey {
  id: string;
  user_id: string;
  name: string | null;
  key_hash: string;
  key_prefix: string;
  scopes: string[];
  rate_limit: number;
  is_active: boolean;
  last_used_at: Date | null;
  expires_at: Date | null;
  created_at: Date;
}

export interface Session {
  id: string;
  user_id: string;
  token_hash: string;
  user_agent: string | null;
  ip: string | null;
  created_at: Date;
  expires_at: Date;
}

export interface QuotaReservation {
  id: string;
  user_id: string;
  job_key: string;
  seconds: number;
  status: 'reserved' | 'settled' | 'released';
  charged: number | null;
  created_at: Date;
  updated_at: Date;
}

export interface IdempotencyKey {
  user_id: string;
  endpoint: string;
  key: string;
  request_hash: string;
  response_status: number | null;
  response_body: unknown;
  created_at: Date;
}

export interface OAuthState {
  state_hash: string;
  provider: string;
  code_verifier: string | null;
  created_at: Date;
}

/** A document uploaded as a podcast source; unused ones expire (migration 013). */
export interface Upload {
  id: string;
  user_id: string;
  filename: string;
  content_type: string;
  bytes: number;
  characters: number;
  storage_key: string;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
}

/** A line's claim on a provider slot: waiting (granted_at null) or holding it. */
export interface ProviderCapacity {
  id: string;
  provider: string;
  user_id: string;
  job_id: string | null;
  job_created_at: Date;
  created_at: Date;
  granted_at: Date | null;
  expires_at: Date;
}

/** One entry of a user's pronunciation dictionary (src/script/pronunciations.ts). */
export interface PronunciationRow {
  user_id: string;
  term: string;
  say: string;
  position: number;
}

/** The dictionary a podcast or TTS job speaks with, copied when its synthesis is planned. */
export interface JobPronunciations {
  job_id: string;
  user_id: string;
  items: Array<{ term: string; say: string }>;
  created_at: Date;
}

/** Where a user's events are POSTed, signed with its secret (migration 015). */
export interface WebhookEndpoint {
  id: string;
  user_id: string;
  url: string;
  events: string[];
  secret: string;
  created_at: Date;
}

/** An event as it is sent: `body` is the exact JSON every attempt signs. */
export interface WebhookEvent {
  id: string;
  user_id: string;
  type: string;
  body: string;
  created_at: Date;
}

/** One attempt to deliver an event to an endpoint. */
export interface WebhookDelivery {
  id: number;
  endpoint_id: string;
  event_id: string;
  attempt: number;
  /** The HTTP status answered, or null when there was no answer. */
  status: number | null;
  error: string | null;
  created_at: Date;
}

/** A user's private podcast feed: the SHA-256 of its current secret token (migration 016). */
export interface PodcastFeed {
  user_id: string;
  token_hash: string;
  created_at: Date;
}

export interface ProviderLane {
  provider: string;
  paused_until: Date | null;
}

declare module 'knex/types/tables' {
  interface Tables {
    users: User;
    voices: Voice;
    audios: Audio;
    podcasts: Podcast;
    podcast_jobs: PodcastJob;
    podcast_segments: PodcastSegment;
    audio_jobs: AudioJob;
    subscriptions: Subscription;
    checkout_claims: CheckoutClaim;
    usage_logs: UsageLog;
    api_keys: ApiKey;
    sessions: Session;
    quota_reservations: QuotaReservation;
    idempotency_keys: IdempotencyKey;
    oauth_states: OAuthState;
    provider_capacity: ProviderCapacity;
    provider_lanes: ProviderLane;
    uploads: Upload;
    pronunciations: PronunciationRow;
    job_pronunciations: JobPronunciations;
    webhook_endpoints: WebhookEndpoint;
    webhook_events: WebhookEvent;
    webhook_deliveries: WebhookDelivery;
    podcast_feeds: PodcastFeed;
  }
}
