import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z, type ZodType } from 'zod';
import { AppError, forbidden } from '../errors';
import { ERROR_CODES } from './errors';
import type { AuthContext as SessionAuthContext } from '../services/accounts';
import type { ApiKeyGrant } from '../services/apiKeys';
import { SESSION_COOKIE } from './studio';

/**
 * A route is declared once, with the schemas of its inputs: the same declaration validates
 * requests and generates GET /openapi.json, so the document can never drift from the code.
 */
export type AuthMode = 'none' | 'required' | 'optional';

/** The caller; `apiKey` is set when an API key, not a session, authenticated the request. */
export interface AuthContext extends SessionAuthContext {
  apiKey?: ApiKeyGrant;
  /** The session token when the studio's cookie (not a header) authenticated the request. */
  cookieToken?: string;
}

export interface RouteInput<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  auth: AuthContext | null;
}

export interface RouteSpec<B = unknown, Q = unknown, P = unknown> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Koa path, e.g. /v1/podcasts/:id */
  path: string;
  /** The operation's name in the OpenAPI document (camelCase verb, e.g. createPodcast): what generated clients call it. */
  operationId: string;
  summary: string;
  tag: string;
  auth: AuthMode;
  /** The scope an API key needs (or 'all') to call this route; unset: any key may. Sessions may call everything. */
  scope?: 'tts' | 'podcast';
  body?: ZodType<B>;
  /** A multipart/form-data body carrying one file in this field (read by the handler, see multipart.ts). */
  file?: { field: string; description: string };
  query?: ZodType<Q>;
  params?: ZodType<P>;
  /** Status → description (and response schema when there is a body worth documenting). */
  responses: Record<number, { description: string; schema?: ZodType; contentType?: string }>;
  handler: (ctx: Context, input: RouteInput<B, Q, P>) => Promise<void>;
}

export function route<B = undefined, Q = undefined, P = undefined>(spec: RouteSpec<B, Q, P>): RouteSpec<B, Q, P> {
  return spec;
}

function validationError(where: 'body' | 'query' | 'path', error: z.ZodError): AppError {
  const fields = error.issues.map((i) => ({ field: [where, ...i.path].join('.'), message: i.message }));
  return new AppError('VALIDATION_FAILED', `Invalid ${where}: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`, { fields });
}

/** Where a NUL character hides in a value, if anywhere: PostgreSQL text cannot store one. */
function nulPath(value: unknown, path: (string | number)[] = []): (string | number)[] | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const found = nulPath(v, [...path, k]);
      if (found) return found;
    }
  }
  return null;
}

function parse<T>(schema: ZodType<T> | undefined, value: unknown, where: 'body' | 'query' | 'path'): T {
  if (!schema) return undefined as T;
  const nul = nulPath(value);
  if (nul) {
    const field = [where, ...nul].join('.');
    throw new AppError('VALIDATION_FAILED', `Invalid ${where}: ${field} contains a NUL character`, {
      fields: [{ field, message: 'contains a NUL character' }],
    });
  }
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(where, result.error);
  return result.data;
}

export function mount(
  router: Router,
  specs: RouteSpec<any, any, any>[],
  authenticate: (ctx: Context, mode: AuthMode) => Promise<AuthContext | null>,
  /** Runs once the caller may use the route, before its input is read (per-route rate limits). */
  limit?: (ctx: Context, spec: RouteSpec<any, any, any>, auth: AuthContext | null) => Promise<void>,
) {
  // A literal path (/v1/webhooks/stripe) is never a value of another route's parameter (/v1/webhooks/:id).
  const literalPaths = new Set(specs.filter((s) => !s.path.includes(':')).map((s) => s.path));
  for (const spec of specs) {
    const parametrised = spec.path.includes(':');
    router[spec.method](spec.path, async (ctx, next) => {
      if (parametrised && literalPaths.has(ctx.path)) return next();
      const auth = await authenticate(ctx, spec.auth);
      if (spec.scope && auth?.apiKey && !auth.apiKey.scopes.some((s) => s === spec.scope || s === 'all')) {
        throw forbidden(`This API key lacks the ${spec.scope} scope`);
      }
      await limit?.(ctx, spec, auth);
      if (spec.body && !ctx.request.is('application/json') && ctx.request.length) {
        throw new AppError('VALIDATION_FAILED', 'Content-Type must be application/json');
      }
      const body = parse(spec.body, ctx.request.body ?? {}, 'body');
      const query = parse(spec.query, ctx.query, 'query');
      const params = parse(spec.params, ctx.params, 'path');
      await spec.handler(ctx, { body, query, params, auth });
    });
  }
}

/**
 * What no route answered: a path that exists, asked with a method it does not have, is 405 with
 * `Allow` (OPTIONS: 204 with `Allow`); the methods are the documented ones, and a literal path
 * (/v1/webhooks/stripe) is not taken for a parameter of another (/v1/webhooks/{id}).
 */
export function answerOtherMethods(specs: RouteSpec<any, any, any>[]): Middleware {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const routes = specs.map((s) => ({
    method: s.method.toUpperCase(),
    literal: !s.path.includes(':'),
    pattern: new RegExp(
      `^${s.path
        .split(/(:\w+)/)
        .map((part) => (part.startsWith(':') ? '[^/]+' : escape(part)))
        .join('')}$`,
    ),
  }));
  return async (ctx) => {
    const matching = routes.filter((r) => r.pattern.test(ctx.path));
    const literal = matching.filter((r) => r.literal);
    const allow = [...new Set((literal.length ? literal : matching).map((r) => r.method))];
    if (!allow.length) throw new AppError('NOT_FOUND', `No route for ${ctx.method} ${ctx.path}`);
    ctx.set('Allow', allow.join(', '));
    if (ctx.method === 'OPTIONS') {
      ctx.status = 204;
      return;
    }
    throw new AppError('METHOD_NOT_ALLOWED', `${ctx.method} is not allowed on ${ctx.path}; allowed: ${allow.join(', ')}`, { allow });
  };
}

const ErrorSchema = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

const jsonSchema = (schema: ZodType, io: 'input' | 'output') => z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });

/** A form with one file field, as OpenAPI 3.1 describes binary content. */
const fileFormSchema = (file: { field: string; description: string }) => ({
  type: 'object',
  required: [file.field],
  properties: { [file.field]: { type: 'string', contentMediaType: 'application/octet-stream', description: file.description } },
});

const ERROR_REF = { $ref: '#/components/schemas/Error' };
const errorContent = { 'application/json': { schema: ERROR_REF } };
const pascal = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** OpenAPI 3.1 document for the mounted routes. */
export function openApiDocument(specs: RouteSpec<any, any, any>[], info: { version: string; serverUrl?: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  const schemas: Record<string, unknown> = { Error: jsonSchema(ErrorSchema, 'output') };
  const operationIds = new Set<string>();
  for (const spec of specs) {
    if (operationIds.has(spec.operationId)) throw new Error(`Duplicate operationId ${spec.operationId}`);
    operationIds.add(spec.operationId);
    const oaPath = spec.path.replace(/:(\w+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, schema] of [
      ['path', spec.params],
      ['query', spec.query],
    ] as const) {
      if (!schema) continue;
      const js = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(js.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: s });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(spec.responses)) {
      // Every failure has the one error shape, whatever the route says about its body.
      const content =
        Number(status) >= 400 ? errorContent : r.schema ? { [r.contentType ?? 'application/json']: { schema: jsonSchema(r.schema, 'output') } } : undefined;
      responses[status] = { description: r.description, ...(content ? { content } : {}) };
    }
    // The failures every route of its kind can answer, so clients see them without reading `default`.
    const common: [number, boolean, string][] = [
      [400, Boolean(spec.body || spec.query || spec.params || spec.file), 'Invalid input (details name the fields)'],
      [401, spec.auth === 'required', 'Not signed in, or an invalid token or key'],
    ];
    for (const [status, applies, description] of common) if (applies) responses[status] ??= { description, content: errorContent };
    responses.default = { description: 'Error', content: errorContent };
    // Request bodies are named after their operation, so generated clients get readable types.
    let requestBody: unknown;
    if (spec.body) {
      const name = `${pascal(spec.operationId)}Request`;
      schemas[name] = jsonSchema(spec.body, 'input');
      requestBody = { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } } };
    } else if (spec.file) {
      requestBody = { required: true, content: { 'multipart/form-data': { schema: fileFormSchema(spec.file) } } };
    }
    paths[oaPath] ??= {};
    paths[oaPath][spec.method] = {
      operationId: spec.operationId,
      summary: spec.summary,
      tags: [spec.tag],
      ...(spec.auth === 'none' ? { security: [] } : { security: spec.auth === 'optional' ? [{}, ...SIGNED_IN] : SIGNED_IN }),
      ...(spec.scope ? { 'x-api-key-scope': spec.scope } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'AIMake API',
      version: info.version,
      description: 'The AIMake voice studio API (text to speech and two-voice podcasts). Errors share one shape: see the Error schema.',
    },
    // Relative to where the document is served when no public URL is configured.
    servers: [{ url: info.serverUrl ?? '/' }],
    security: SIGNED_IN,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A session token from login/register, or an API key (ak_…)' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key (ak_…)' },
        cookie: {
          type: 'apiKey',
          in: 'cookie',
          name: SESSION_COOKIE,
          description:
            'The web studio session (POST /v1/studio/login), used when neither header is sent; methods other than GET, HEAD and OPTIONS also need X-CSRF-Token',
        },
      },
      schemas,
    },
    paths,
  };
}

const SIGNED_IN = [{ bearer: [] }, { apiKey: [] }, { cookie: [] }];
