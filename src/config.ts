import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { speakingRatesFrom } from './script/pace';

/**
 * Every environment variable the system reads, validated once. Unset optional services fall back
 * to the embedded defaults: an embedded PostgreSQL, the Temporal CLI's dev server, espeak-ng, a
 * local storage folder and the local script writer.
 */
const ROOT = projectRoot(__dirname);

/** The folder of package.json: src/.. under tsx, dist/src/../.. in the build (`npm run build`). */
function projectRoot(from: string): string {
  for (let dir = path.resolve(from, '..'); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, '..');
  }
}

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_URL: optionalString,
  DATA_DIR: z.string().default(path.join(ROOT, '.data')),
  TOOLS_DIR: z.string().default(path.join(ROOT, '.tools')),

  DATABASE_URL: optionalString,
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),

  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('aimake'),
  TEMPORAL_DEV_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  TEMPORAL_UI_URL: optionalString,
  WORKER_METRICS_ADDRESS: optionalString,
  // Tracing (src/tracing.ts): exported over OTLP/HTTP only when the endpoint is set.
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString.pipe(z.url().optional()),
  OTEL_SERVICE_NAME: optionalString,
  // Activity slots per worker process and lane (workflows/taskQueues.ts). Bookkeeping is quick
  // database work; scripts wait on web sites and the LLM; a line mostly waits on its provider
  // (whose capacity the *_MAX_CONCURRENCY settings cap, not these); media (stitching) is
  // CPU-bound; operations are backups, reconciliations, housekeeping, Stripe events and webhook deliveries.
  WORKER_MAX_ACTIVITIES: z.coerce.number().int().min(1).max(10_000).default(50),
  WORKER_MAX_SCRIPT_ACTIVITIES: z.coerce.number().int().min(1).max(10_000).default(20),
  WORKER_MAX_LINE_ACTIVITIES: z.coerce.number().int().min(1).max(10_000).default(500),
  WORKER_MAX_MEDIA_ACTIVITIES: z.coerce.number().int().min(1).max(1000).default(os.availableParallelism()),
  WORKER_MAX_OPERATION_ACTIVITIES: z.coerce.number().int().min(1).max(1000).default(8),

  // The web studio's build (npm run build:web), served at /studio/; without it /studio/ answers 503.
  STUDIO_DIR: z.string().default(path.join(ROOT, 'web', 'dist')),

  BODY_LIMIT: z.string().default('1mb'),
  SESSION_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  // How long an API process may keep a session it looked up; it forgets it at once when the
  // database notifies a change to the session or its user (0: ask the database every time).
  SESSION_CACHE_MS: z.coerce.number().int().min(0).max(300_000).default(30_000),
  LOGIN_MAX_FAILURES_PER_EMAIL: z.coerce.number().int().min(1).default(5),
  LOGIN_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).default(20),
  LOGIN_FAILURE_WINDOW_SEC: z.coerce.number().int().min(1).default(900),
  TRUST_PROXY: bool.default(false),

  // OAuth sign-in: a provider is offered only when its client id is set. The endpoints default to
  // the real providers and are overridable so tests run the real flow against a fake on loopback.
  // Redirect URIs are OAUTH_REDIRECT_BASE_URL (else PUBLIC_URL, else http://127.0.0.1:PORT)
  // + /v1/auth/oauth/{provider}/callback, and must be registered with the provider as such.
  GOOGLE_CLIENT_ID: optionalString,
  GOOGLE_CLIENT_SECRET: optionalString,
  GITHUB_CLIENT_ID: optionalString,
  GITHUB_CLIENT_SECRET: optionalString,
  OAUTH_REDIRECT_BASE_URL: optionalString.pipe(z.url().optional()),
  GOOGLE_AUTHORIZE_URL: z.url().default('https://accounts.google.com/o/oauth2/v2/auth'),
  GOOGLE_TOKEN_URL: z.url().default('https://oauth2.googleapis.com/token'),
  GOOGLE_USERINFO_URL: z.url().default('https://openidconnect.googleapis.com/v1/userinfo'),
  GITHUB_AUTHORIZE_URL: z.url().default('https://github.com/login/oauth/authorize'),
  GITHUB_TOKEN_URL: z.url().default('https://github.com/login/oauth/access_token'),
  GITHUB_API_URL: z.url().default('https://api.github.com'),

  // Request rate limits, counted in PostgreSQL so every API process shares them. Each API key has
  // its own requests per minute (api_keys.rate_limit, set at creation); this one caps generation
  // requests (POST /v1/audios and /v1/podcasts) per user and minute, for sessions and keys alike.
  USER_CREATE_LIMIT_PER_MIN: z.coerce.number().int().min(1).max(10_000).default(30),

  STORAGE_DRIVER: z.enum(['local', 's3']).default('local'),
  STORAGE_DIR: optionalString,
  S3_BUCKET: optionalString,
  S3_REGION: z.string().default('us-east-1'),
  S3_ENDPOINT: optionalString,
  S3_FORCE_PATH_STYLE: bool.default(false),
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,

  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString,
  OPENAI_CHAT_MODEL: z.string().default('gpt-4o-mini'),
  OPENAI_TTS_MODEL: z.string().default('tts-1'),
  ELEVENLABS_API_KEY: optionalString,
  ELEVENLABS_BASE_URL: optionalString,
  ELEVENLABS_MODEL_ID: z.string().default('eleven_multilingual_v2'),
  // Voices that flow: ElevenLabs hears each line's neighbouring text of the same voice; OpenAI's
  // gpt-4o-mini-tts is told how to speak each podcast style (other OpenAI models take no instructions).
  ELEVENLABS_CONTEXT: bool.default(true),
  OPENAI_TTS_INSTRUCTIONS: bool.default(true),
  OPENAI_TTS_INSTRUCTIONS_CASUAL: optionalString.pipe(z.string().max(4000).optional()),
  OPENAI_TTS_INSTRUCTIONS_FORMAL: optionalString.pipe(z.string().max(4000).optional()),
  OPENAI_TTS_INSTRUCTIONS_DEBATE: optionalString.pipe(z.string().max(4000).optional()),
  PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(1000).default(120_000),

  // Lines of one job in flight; unset, a job alone may use its provider's whole lane (below).
  SYNTH_CONCURRENCY: z.coerce.number().int().min(1).max(1000).optional(),
  // Requests in flight to each speech provider across all workers together (src/capacity).
  OPENAI_MAX_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(16),
  ELEVENLABS_MAX_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(5),
  LOCAL_TTS_MAX_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(os.availableParallelism()),
  LINES_PER_CHILD_WORKFLOW: z.coerce.number().int().min(10).max(500).default(200),
  LINE_HEARTBEAT_TIMEOUT_SEC: z.coerce.number().int().min(2).max(600).default(30),
  REVIEW_TIMEOUT_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  // Spoken lines are kept this long after a job ends (retries and edited scripts reuse them); 0: removed at completion.
  SEGMENT_RETENTION_DAYS: z.coerce.number().int().min(0).max(3650).default(7),
  // Open /v1/podcasts/{id}/events streams per user.
  SSE_MAX_PER_USER: z.coerce.number().int().min(1).max(1000).default(5),
  SOURCE_ALLOW_LOOPBACK: bool.default(false),
  // Let webhooks reach loopback endpoints (tests only); private and metadata addresses stay refused.
  WEBHOOK_ALLOW_LOOPBACK: bool.default(false),
  SOURCE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(5 * 1024 * 1024),
  SOURCE_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
  TTS_MAX_TEXT_CHARS: z.coerce.number().int().min(1).max(100_000).default(100_000),
  PODCAST_MAX_SOURCE_CHARS: z.coerce.number().int().min(1).default(200_000),
  // How fast each engine speaks, over the measured defaults in src/script/pace.ts (JSON, e.g.
  // {"openai":{"cjk":{"charsPerSecond":5}}}): what scripts are sized by before the length loop.
  SPEAKING_RATES: optionalString.transform((json, ctx) => {
    try {
      return speakingRatesFrom(json);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
      return z.NEVER;
    }
  }),
  // The largest document POST /v1/uploads accepts (API.md: 20 MB).
  UPLOAD_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(20 * 1024 * 1024),

  // Billing (Stripe) and the scheduled operations (src/billing, src/temporal/schedules.ts). Billing
  // answers 503 until STRIPE_SECRET_KEY is set; STRIPE_API_BASE_URL points the real SDK at another
  // server (tests: a fake on loopback). Schedules take Temporal cron strings (`@every 1h` works
  // too) in UTC; `off` leaves a schedule out (and pauses it if it exists).
  STRIPE_SECRET_KEY: optionalString,
  STRIPE_WEBHOOK_SECRET: optionalString,
  STRIPE_PRICE_PRO: optionalString,
  STRIPE_PRICE_TEAM: optionalString,
  STRIPE_API_BASE_URL: optionalString.pipe(z.url().optional()),
  STRIPE_TIMEOUT_MS: z.coerce.number().int().min(1000).default(20_000),
  BILLING_RETURN_URL: optionalString.pipe(z.url().optional()),
  QUOTA_PRO_SEC: z.coerce.number().int().min(1).default(18_000),
  QUOTA_TEAM_SEC: z.coerce.number().int().min(1).default(72_000),
  QUOTA_RESET_CRON: z.string().trim().min(1).default('0 0 1 * *'),
  // Removes expired sessions, idempotency keys, OAuth states and rate-limit counters.
  HOUSEKEEPING_CRON: z.string().trim().min(1).default('15 * * * *'),
  // Repairs jobs whose run ended outside our code (terminated, reset, timed out); '@every 5s' also works.
  JOB_RECONCILE_CRON: z.string().trim().min(1).default('*/5 * * * *'),
  BILLING_RECONCILE_CRON: z.string().trim().min(1).default('0 * * * *'),
  BACKUP_CRON: z.string().trim().min(1).default('30 3 * * *'),
  BACKUP_TARGET: z.enum(['dir', 'storage']).default('dir'),
  BACKUP_DIR: optionalString,
  BACKUP_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  PG_BIN_DIR: optionalString,
});

export type Config = z.infer<typeof EnvSchema> & {
  root: string;
  temporalAddress: string;
  temporalUiUrl: string;
  embeddedTemporal: boolean;
  storageDir: string;
};

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  if (c.STORAGE_DRIVER === 's3' && !c.S3_BUCKET) throw new ConfigError('Invalid configuration:\n  S3_BUCKET: required when STORAGE_DRIVER=s3');
  return {
    ...c,
    root: ROOT,
    embeddedTemporal: c.TEMPORAL_ADDRESS === undefined,
    temporalAddress: c.TEMPORAL_ADDRESS ?? `127.0.0.1:${c.TEMPORAL_DEV_PORT}`,
    temporalUiUrl: c.TEMPORAL_UI_URL ?? `http://127.0.0.1:${c.TEMPORAL_UI_PORT}`,
    storageDir: c.STORAGE_DIR ?? path.join(c.DATA_DIR, 'storage'),
  };
}
