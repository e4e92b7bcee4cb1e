import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Knex } from 'knex';
import { answerMalformedRequests, createApi } from '../../src/api/app';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { TemporalGateway } from '../../src/temporal/client';
import { tracingEnabled } from '../../src/tracing';
import { testDatabase } from './db';
import { testTemporal } from './temporal';
import { onTeardown } from './teardown';

export interface TestApi {
  url: string;
  databaseUrl: string;
  knex: Knex;
  config: Config;
  temporal: TemporalGateway;
  close(): Promise<void>;
}

/** The real API over real HTTP on a loopback port, against the run's database and Temporal. */
export async function startTestApi(env: Record<string, string> = {}): Promise<TestApi> {
  const { url: dbUrl, knex } = await testDatabase();
  const temporalEnv = env.TEMPORAL_ADDRESS ? null : await testTemporal();
  const config = loadConfig({
    ...process.env,
    LOG_LEVEL: 'silent',
    // Tests change rows behind the API's back and read them through it at once; a cached session
    // would see such a change a notification's trip later. test/api/sessions.test.ts holds the
    // cache (on by default in production) to its promises.
    SESSION_CACHE_MS: '0',
    // The whole suite signs in from 127.0.0.1 against one database, so failed sign-ins of earlier
    // files would count against later ones; the throttling tests set their own limits.
    LOGIN_MAX_FAILURES_PER_IP: '100000',
    DATABASE_URL: dbUrl,
    TEMPORAL_ADDRESS: temporalEnv?.address ?? env.TEMPORAL_ADDRESS,
    ...env,
  });
  const temporal = new TemporalGateway(config.temporalAddress, config.TEMPORAL_NAMESPACE, config.TEMPORAL_TASK_QUEUE, undefined, tracingEnabled(config));
  const { app, close: closeApi } = createApi({ config, knex, temporal, logger: createLogger('silent') });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  answerMalformedRequests(server);
  const close = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await closeApi();
    await temporal.close();
  };
  onTeardown(close);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, databaseUrl: dbUrl, knex, config, temporal, close };
}

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A small JSON client over fetch, so tests read like the requests a user would send. */
export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(base + path, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed as T };
}

let counter = 0;
export const uniqueEmail = (label = 'user') => `${label}.${process.pid}.${Date.now()}.${counter++}@example.test`;

export async function registerUser(api: TestApi, label = 'user') {
  const email = uniqueEmail(label);
  const password = 'correct horse battery staple';
  const res = await call(api.url, 'POST', '/v1/auth/register', { body: { email, password, name: label } });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { email, password, token: res.body.token as string, user: res.body.user as { id: string } };
}
