import crypto from 'node:crypto';
import type { Server } from 'node:http';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import type { Knex } from 'knex';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { createMetrics } from '../metrics';
import { Accounts, AUTH_CHANGED } from '../services/accounts';
import { LoginThrottle } from '../services/loginThrottle';
import { API_KEY_RATE_LIMIT, ApiKeys } from '../services/apiKeys';
import { RateLimits } from '../services/rateLimits';
import type { TemporalGateway } from '../temporal/client';
import { AppError } from '../errors';
import { createAuthenticator } from './middleware/auth';
import { createRouteLimiter } from './middleware/rateLimit';
import { errorHandler } from './middleware/errors';
import { requestSpan } from './middleware/tracing';
import { tracingEnabled } from '../tracing';
import { answerOtherMethods, mount, openApiDocument, type RouteSpec } from './route';
import { accountRoutes } from './routes/accounts';
import { oauthRoutes } from './routes/oauth';
import { apiKeyRoutes } from './routes/apiKeys';
import { healthRoutes } from './routes/health';
import { voiceRoutes } from './routes/voices';
import { audioRoutes } from './routes/audios';
import { usageRoutes } from './routes/usage';
import { pronunciationRoutes } from './routes/pronunciations';
import { podcastRoutes } from './routes/podcasts';
import { feedRoutes } from './routes/feeds';
import { uploadRoutes } from './routes/uploads';
import { billingRoutes, keepRawBody } from './routes/billing';
import { webhookRoutes } from './routes/webhooks';
import { AudioService } from '../services/audios';
import { PodcastService } from '../services/podcasts';
import { FeedService } from '../services/feeds';
import { UploadService } from '../services/uploads';
import { BillingService } from '../services/billing';
import { WebhookService } from '../services/webhooks';
import { storageFromConfig } from '../storage/fromConfig';
import { JobChanges } from '../jobs/jobChanges';
import { StreamSlots } from './streamSlots';
import { loggedPath } from './request';
import { errorBody } from './errors';
import { docsRoutes } from './docs';
import { studioFiles } from './studio';
import { studioRoutes } from './routes/studio';
import { OAuthService } from '../services/oauth';
import { VoicePreviews } from '../services/voicePreviews';

export interface ApiDeps {
  config: Config;
  knex: Knex;
  temporal: TemporalGateway;
  logger: Logger;
}

const REQUEST_ID = /^[\w.-]{1,64}$/;

function parseBytes(limit: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(limit.trim());
  if (!m) throw new Error(`BODY_LIMIT must look like 1mb or 512kb, got ${limit}`);
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Math.floor(Number(m[1]) * unit);
}

export function createApi(deps: ApiDeps) {
  const { config, knex, logger } = deps;
  const metrics = createMetrics();
  // Forgets cached sessions the moment they or their users change; connects while any is cached.
  const authChanges = JobChanges.onDatabaseOf(knex, logger, { channel: AUTH_CHANGED, applicationName: 'aimake-auth-changes' });
  const accounts = new Accounts(
    knex,
    new LoginThrottle(knex, {
      maxPerEmail: config.LOGIN_MAX_FAILURES_PER_EMAIL,
      maxPerIp: config.LOGIN_MAX_FAILURES_PER_IP,
      windowSec: config.LOGIN_FAILURE_WINDOW_SEC,
    }),
    config.SESSION_TTL_DAYS,
    config.SESSION_CACHE_MS,
    authChanges,
  );

  const storage = storageFromConfig(config);
  const podcasts = new PodcastService(knex, deps.temporal, config, logger, Boolean(config.OPENAI_API_KEY), storage);
  const audios = new AudioService(knex, deps.temporal, config, logger);
  const apiKeys = new ApiKeys(knex);
  // Connects only while some event stream is open; close() ends those streams on shutdown.
  const jobChanges = JobChanges.onDatabaseOf(knex, logger);
  const limits = new RateLimits(knex, { maxKeyLimit: API_KEY_RATE_LIMIT.max, userCreatesPerMin: config.USER_CREATE_LIMIT_PER_MIN });

  const oauth = new OAuthService(knex, accounts, config, logger);
  const providerKeys = { openai: Boolean(config.OPENAI_API_KEY), elevenlabs: Boolean(config.ELEVENLABS_API_KEY) };

  const specs: RouteSpec<any, any, any>[] = [
    ...healthRoutes({ knex, temporal: deps.temporal, metrics }),
    ...accountRoutes(accounts),
    ...oauthRoutes({ oauth, config }),
    ...studioRoutes({ accounts, oauth, config }),
    ...apiKeyRoutes(apiKeys),
    ...voiceRoutes({
      knex,
      providerKeys,
      previews: new VoicePreviews(knex, storage, deps.temporal, config, logger, providerKeys),
      storage,
      logger,
      publicUrl: config.PUBLIC_URL,
    }),
    ...podcastRoutes({
      podcasts,
      knex,
      storage,
      logger,
      events: { changes: jobChanges, slots: new StreamSlots(config.SSE_MAX_PER_USER) },
      publicUrl: config.PUBLIC_URL,
    }),
    ...feedRoutes({ feeds: new FeedService(knex, podcasts), storage, logger, publicUrl: config.PUBLIC_URL }),
    ...uploadRoutes({ uploads: new UploadService(knex, storage), maxBytes: config.UPLOAD_MAX_BYTES }),
    ...audioRoutes({ audios, storage, logger, publicUrl: config.PUBLIC_URL }),
    ...usageRoutes(knex),
    ...pronunciationRoutes(knex),
    ...billingRoutes({ billing: new BillingService(knex, deps.temporal, config, logger), maxBodyBytes: parseBytes(config.BODY_LIMIT) }),
    ...webhookRoutes(new WebhookService(knex, { allowLoopback: config.WEBHOOK_ALLOW_LOOPBACK })),
  ];
  const openapi = openApiDocument(specs, { version: '1.0.0', serverUrl: config.PUBLIC_URL });

  const router = new Router();
  router.get('/openapi.json', (ctx) => {
    ctx.body = openapi;
  });
  docsRoutes(router);
  mount(router, specs, createAuthenticator(accounts, apiKeys, limits), createRouteLimiter(limits));

  const bodyLimit = parseBytes(config.BODY_LIMIT);
  const app = new Koa({ proxy: config.TRUST_PROXY });
  // Errors after the response started (a streamed body) reach only here. A client hanging up on a
  // stream (an event stream, an audio download) is normal, not an error worth a stack trace.
  app.on('error', (err: Error & { code?: string }, ctx?: Koa.Context) => {
    if (err.code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    logger.error({ err, requestId: ctx?.state.requestId }, 'response failed');
  });

  if (tracingEnabled(config)) app.use(requestSpan());
  app.use(async (ctx, next) => {
    const started = process.hrtime.bigint();
    const incoming = ctx.get('x-request-id');
    ctx.state.requestId = REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const routePath = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      metrics.httpDuration.observe({ method: ctx.method, route: routePath, status: String(ctx.status) }, seconds);
      // Polls are most requests and tell an operator little: successful reads log only at debug.
      const level = ctx.status < 400 && (ctx.method === 'GET' || ctx.method === 'HEAD') ? 'debug' : 'info';
      logger[level](
        { requestId: ctx.state.requestId, method: ctx.method, path: loggedPath(ctx), status: ctx.status, ms: Math.round(seconds * 1000) },
        'request',
      );
    }
  });
  app.use(errorHandler(logger));
  app.use(async (ctx, next) => {
    // Refuse an oversized body from its declared length before reading any of it. Uploads
    // (multipart) have their own, larger limit, held by the one reader of such bodies (multipart.ts).
    if ((ctx.request.length ?? 0) > bodyLimit && !ctx.request.is('multipart/form-data'))
      throw new AppError('PAYLOAD_TOO_LARGE', `Request body is larger than ${config.BODY_LIMIT}`);
    await next();
  });
  // The Stripe webhook is verified on the exact bytes sent, so the JSON parser stays off its path.
  app.use(keepRawBody());
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: config.BODY_LIMIT, encoding: 'utf-8' }));
  app.use(studioFiles(config.STUDIO_DIR));
  app.use(router.routes());
  app.use(answerOtherMethods(specs));

  /** Ends the open event streams and the database listeners (call on shutdown, with the server's close). */
  const close = () => Promise.all([jobChanges.close(), authChanges.close()]).then(() => undefined);

  return { app, metrics, accounts, openapi, close };
}

/**
 * Requests Node refuses before Koa sees them (a URL or headers over its size limit, a malformed
 * request line) would get a bare status line; they get the API's error shape, as 400 like any invalid input.
 */
export function answerMalformedRequests(server: Server) {
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const message = err.code === 'HPE_HEADER_OVERFLOW' ? 'The request line or headers are too large' : 'Malformed HTTP request';
    const body = JSON.stringify(errorBody(new AppError('VALIDATION_FAILED', message)));
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
