import pino from 'pino';

/** One structured logger for every process; secrets are redacted wherever they may appear. */
export function createLogger(level: string, name = 'aimake') {
  return pino({
    name,
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie', '*.password', '*.token', '*.apiKey', '*.secret'],
      censor: '[redacted]',
    },
  });
}

export type Logger = ReturnType<typeof createLogger>;
