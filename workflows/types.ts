// Types shared by workflows, activities and the API. No runtime code: workflows stay deterministic.

/** The seed's job statuses, in order, plus canceled. */
export type JobStatus = 'pending' | 'analyzing' | 'scripting' | 'synthesizing' | 'processing' | 'completed' | 'failed' | 'canceled';

export interface JobSnapshot {
  status: JobStatus;
  progress: number;
  currentStep: string | null;
  /** True while a review run waits for the script to be approved. */
  awaitingApproval: boolean;
}

export interface PodcastWorkflowInput {
  podcastId: string;
  jobId: string;
  userId: string;
  /** Stop after scripting (podcast status draft) until approveScript is signalled. */
  review: boolean;
  /** A retry or an approved draft: the script already exists, go straight to synthesis. */
  scriptReady: boolean;
  /** SYNTH_CONCURRENCY when the run started (0: unset). Runs now take the plan's concurrency; this serves runs planned before. */
  synthConcurrency: number;
  linesPerChildWorkflow: number;
  reviewTimeoutDays: number;
  /** How soon a line whose worker died is retried elsewhere (its activity heartbeats). */
  lineHeartbeatTimeoutSec: number;
}

export interface LineChunkInput {
  podcastId: string;
  jobId: string;
  from: number;
  to: number; // exclusive
  total: number;
  concurrency: number;
  lineHeartbeatTimeoutSec: number;
  /** Role and first words of lines [from, to), for the UI's activity summaries; absent in runs recorded before. */
  previews?: string[];
}

/** What travels through Temporal for a synthesized line: a storage key and numbers, never audio. */
export interface SegmentRef {
  index: number;
  key: string;
  duration: number;
  chars: number;
  provider: string;
  apiCost: number | null;
}

export interface AudioWorkflowInput {
  audioId: string;
  userId: string;
  /** SYNTH_CONCURRENCY when the run started (0: unset). Runs now take the plan's concurrency; this serves runs planned before. */
  synthConcurrency: number;
  lineHeartbeatTimeoutSec: number;
}

export interface FailureInfo {
  code: string;
  message: string;
}

/** One webhook event to one endpoint (src/webhooks): the body is read from webhook_events by id. */
export interface WebhookDeliveryInput {
  endpointId: string;
  eventId: string;
}

export interface WebhookDeliveryResult {
  /** The endpoint answered 2xx (now, or in an attempt whose result was lost in a crash). */
  delivered: boolean;
  /** Why not, when not: the endpoint was deleted, its address was refused, or retries ran out. */
  error?: string;
}

/** A catalogue voice's preview sample (src/services/voicePreviews.ts): what to say, and where to store the MP3. */
export interface VoicePreviewInput {
  voiceId: string;
  text: string;
  language: string;
  /** The storage key of the MP3; the API serves it from there. */
  key: string;
}
