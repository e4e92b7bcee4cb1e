// The typed AIMake client: openapi-fetch over the types generated from the API's own OpenAPI
// document (schema.d.ts, `npm run client:generate`), plus the waiting and downloading every API
// client would otherwise write for itself.
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema';

export type { paths } from './schema';
export type AimakeClient = Client<paths>;

export interface AimakeClientOptions {
  /** e.g. http://127.0.0.1:3000 (no /v1: the paths carry it). */
  baseUrl: string;
  /** A session token (from POST /v1/auth/login) or an API key: both go as `Authorization: Bearer`. */
  token?: string;
  /** An API key sent as `X-API-Key` (when `token` is not given). */
  apiKey?: string;
  /** For tests and custom agents. */
  fetch?: typeof globalThis.fetch;
}

export function createAimakeClient(opts: AimakeClientOptions): AimakeClient {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  else if (opts.apiKey) headers['x-api-key'] = opts.apiKey;
  return createClient<paths>({ baseUrl: opts.baseUrl.replace(/\/+$/, ''), headers, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
}

/** An API error (`{error: {code, message}}`) with its HTTP status. */
export class AimakeError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AimakeError';
  }
}

/** The API's answer to a call that failed, as an AimakeError (whatever shape the body had). */
export function apiError(error: unknown, response: Response): AimakeError {
  const e = (error as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
  if (e?.message) return new AimakeError(response.status, e.code ?? 'UNKNOWN', e.message, e.details);
  return new AimakeError(response.status, 'UNKNOWN', `HTTP ${response.status} ${response.statusText}`.trim());
}

/** The data of a call, or its error thrown as an AimakeError. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw apiError(error, response);
  return data as T;
}

/** A podcast's job, as GET /v1/podcasts/{id}/job and its events show it. */
export interface PodcastJob {
  id: string;
  podcastId: string;
  status: 'pending' | 'analyzing' | 'scripting' | 'synthesizing' | 'processing' | 'completed' | 'failed' | 'canceled';
  progress: number;
  /** e.g. "Synthesizing line 12 of 40". */
  currentStep: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  queuePosition: number | null;
  lengthNote: string | null;
  /** Seconds until the job should end (null until it can be estimated). */
  etaSeconds: number | null;
  /** Lines spoken so far, of linesTotal (null before the script is spoken). */
  linesDone: number | null;
  linesTotal: number | null;
  /** A review run waiting for its script to be approved (POST /v1/podcasts/{id}/generate). */
  awaitingApproval: boolean;
  startedAt: string | null;
  completedAt: string | null;
  createdAt: string | null;
}

const FINISHED = new Set(['completed', 'failed', 'canceled']);

export interface WaitOptions<T> {
  /** Called with each new state (once per change). */
  onProgress?: (state: T) => void;
  /** Time between polls (default 1000 ms). */
  intervalMs?: number;
  signal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/**
 * Waits until the podcast's job ends and returns it: `completed`, or `failed` / `canceled`
 * (look at `status`). A review podcast waiting for approval (draft) also ends the wait, since no
 * amount of waiting finishes it. Polls with If-None-Match, so an unchanged job costs a 304.
 */
export async function waitForPodcast(client: AimakeClient, id: string, opts: WaitOptions<PodcastJob> = {}): Promise<PodcastJob> {
  let etag: string | undefined;
  let job: PodcastJob | undefined;
  for (;;) {
    const { data, error, response } = await client.GET('/v1/podcasts/{id}/job', {
      params: { path: { id } },
      headers: etag ? { 'if-none-match': etag } : {},
      signal: opts.signal,
    });
    if (response.status !== 304) {
      if (!response.ok) throw apiError(error, response);
      job = data as unknown as PodcastJob;
      etag = response.headers.get('etag') ?? undefined;
      opts.onProgress?.(job);
      if (FINISHED.has(job.status)) return job;
      // A review run parks after scripting: nothing more happens until its script is approved.
      if (job.awaitingApproval) return job;
    }
    await sleep(opts.intervalMs ?? 1000, opts.signal);
  }
}

/** Writes a response body to a file, whole or not at all. */
async function writeBody(response: Response, file: string) {
  if (!response.body) throw new AimakeError(response.status, 'UNKNOWN', 'The download had no body');
  const part = `${file}.part`;
  try {
    await pipeline(Readable.fromWeb(response.body as WebReadableStream), fs.createWriteStream(part));
    await fs.promises.rename(part, file);
  } catch (err) {
    await fs.promises.rm(part, { force: true });
    throw err;
  }
}

/** Saves a completed podcast's MP3 to `file`. */
export async function downloadPodcast(client: AimakeClient, id: string, file: string): Promise<void> {
  const { error, response } = await client.GET('/v1/podcasts/{id}/file', { params: { path: { id } }, parseAs: 'stream' });
  if (!response.ok) throw apiError(error, response);
  await writeBody(response, file);
}

/** GET /v1/audios/{id}: the audio once done; `{id, status: 'processing', progress}` while running; `{status: 'failed', error}` if it failed. */
export interface AudioState {
  id: string;
  status?: 'processing' | 'failed';
  progress?: number;
  error?: { code: string | null; message: string | null };
  audioUrl?: string;
  duration?: number;
  [field: string]: unknown;
}

/** Waits until a text-to-speech audio is done and returns it; throws an AimakeError if it failed. */
export async function waitForAudio(client: AimakeClient, id: string, opts: WaitOptions<AudioState> = {}): Promise<AudioState> {
  let last = '';
  for (;;) {
    const { data, error, response } = await client.GET('/v1/audios/{id}', { params: { path: { id } }, signal: opts.signal });
    if (!response.ok) throw apiError(error, response);
    const audio = data as unknown as AudioState;
    const seen = JSON.stringify(audio);
    if (seen !== last) opts.onProgress?.(audio);
    last = seen;
    if (audio.status === 'failed') throw new AimakeError(200, audio.error?.code ?? 'FAILED', audio.error?.message ?? 'The audio failed');
    if (response.status === 200) return audio;
    await sleep(opts.intervalMs ?? 1000, opts.signal);
  }
}

/** Saves a finished audio's file (mp3 or wav) to `file`. */
export async function downloadAudio(client: AimakeClient, id: string, file: string): Promise<void> {
  const { error, response } = await client.GET('/v1/audios/{id}/file', { params: { path: { id } }, parseAs: 'stream' });
  if (!response.ok) throw apiError(error, response);
  await writeBody(response, file);
}
