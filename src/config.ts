import path from 'node:path';
import { z } from 'zod';

/**
 * Every environment variable the system reads, validated once. Unset optional services fall back
 * to the embedded defaults: an embedded PostgreSQL, the Temporal CLI's dev server, espeak-ng, a
 * local storage folder and the local script writer.
 */
const ROOT = path.resolve(__dirname, '..');

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
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

  BODY_LIMIT: z.string().default('1mb'),
  SESSION_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  LOGIN_MAX_FAILURES_PER_EMAIL: z.coerce.number().int().min(1).default(5),
  LOGIN_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).default(20),
  LOGIN_FAILURE_WINDOW_SEC: z.coerce.number().int().min(1).default(900),
  TRUST_PROXY: bool.default(false),

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
  PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(1000).default(120_000),

  SYNTH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  LINES_PER_CHILD_WORKFLOW: z.coerce.number().int().min(10).max(500).default(200),
  LINE_HEARTBEAT_TIMEOUT_SEC: z.coerce.number().int().min(2).max(600).default(30),
  REVIEW_TIMEOUT_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  SOURCE_ALLOW_LOOPBACK: bool.default(false),
  SOURCE_MAX_BYTES: z.coerce.number().int().min(1024).default(5 * 1024 * 1024),
  SOURCE_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
  TTS_MAX_TEXT_CHARS: z.coerce.number().int().min(1).max(100_000).default(100_000),
  PODCAST_MAX_SOURCE_CHARS: z.coerce.number().int().min(1).default(200_000),
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
