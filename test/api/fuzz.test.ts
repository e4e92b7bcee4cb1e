import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { call, registerUser } from '../helpers/api';
import { startTestStack, type TestStack } from '../helpers/stack';

/**
 * Input fuzzing driven by the OpenAPI document: every JSON endpoint gets wrong types, missing
 * fields, huge strings, odd unicode, SQL-looking strings and extra fields. None may answer 500,
 * every error must have the API's shape, and a refused request must not change any data.
 */
type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  minimum?: number;
  items?: Schema;
  anyOf?: Schema[];
};

const TABLES = [
  'users',
  'podcasts',
  'podcast_jobs',
  'audios',
  'audio_jobs',
  'api_keys',
  'usage_logs',
  'subscriptions',
  'idempotency_keys',
  'quota_reservations',
  'pronunciations',
];
const NASTY = [
  "'; DROP TABLE users; --",
  '" OR 1=1 --',
  '😀\u202e\uFFFF\u0000',
  'x'.repeat(200_000),
  '\\u0000',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '%00',
  '{{7*7}}',
];

function plausible(s: Schema | undefined): unknown {
  if (!s) return 'x';
  if (s.enum) return s.enum[0];
  if (s.anyOf) return plausible(s.anyOf.find((a) => a.type !== 'null') ?? s.anyOf[0]);
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'string':
      return 'x';
    case 'integer':
    case 'number':
      return s.minimum ?? 1;
    case 'boolean':
      return false;
    case 'array':
      return [plausible(s.items)];
    case 'object':
      return Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, plausible(v)]));
    default:
      return 'x';
  }
}

function mutations(schema: Schema): unknown[] {
  const base = plausible(schema) as Record<string, unknown>;
  const out: unknown[] = [{}, [], 'just a string', 42, null, true, base, { ...base, unexpected: 'field', __proto__: { admin: true } }];
  for (const [key, value] of Object.entries(base)) {
    const without = { ...base };
    delete without[key];
    out.push(without);
    for (const wrong of [123, -1, 1e308, 'text', true, null, [], {}, [1, 2], typeof value === 'string' ? 0 : 'not-a-number'])
      out.push({ ...base, [key]: wrong });
    for (const nasty of NASTY) out.push({ ...base, [key]: nasty });
  }
  return out;
}

async function counts(stack: TestStack) {
  const result: Record<string, number> = {};
  for (const t of TABLES) result[t] = Number((await stack.knex(t).count<{ count: number }[]>('* as count'))[0]!.count);
  return result;
}

describe('input fuzzing of every JSON endpoint', function () {
  this.timeout(600_000);
  let stack: TestStack;

  before(async () => {
    // Hundreds of creates in a minute: the per-user create limit would answer most of them.
    stack = await startTestStack({ USER_CREATE_LIMIT_PER_MIN: '10000' });
  });

  it('never answers 500 and never changes data on a refused request', async () => {
    const { token, user } = await registerUser(stack, 'fuzz');
    await stack.knex('users').where({ id: user.id }).update({ plan: 'team', quota_limit: 72_000 });
    const doc = (await call(stack.url, 'GET', '/openapi.json')).body;
    let sent = 0;
    const endpoints: string[] = [];
    for (const [path, methods] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(methods)) {
        // Request bodies are named components: follow the reference.
        const ref = op.requestBody?.content?.['application/json']?.schema?.$ref as string | undefined;
        const schema = ref ? (doc.components.schemas[ref.replace('#/components/schemas/', '')] as Schema) : undefined;
        if (!schema || path.includes('webhooks')) continue;
        endpoints.push(`${method.toUpperCase()} ${path}`);
        const url = path.replace(/\{[^}]+\}/g, crypto.randomUUID());
        for (const body of mutations(schema)) {
          const before = await counts(stack);
          const res = await call(stack.url, method.toUpperCase(), url, { token, rawBody: JSON.stringify(body) });
          sent++;
          const label = `${method.toUpperCase()} ${path} ${JSON.stringify(body).slice(0, 120)}`;
          assert.ok(res.status < 500, `${label} → ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
          if (res.status >= 400) {
            assert.equal(typeof res.body?.error?.code, 'string', `${label}: error shape`);
            assert.deepEqual(await counts(stack), before, `${label}: a refused request changed data`);
          }
        }
      }
    }
    assert.ok(endpoints.length >= 6, endpoints.join(', '));
    assert.ok(sent > 200, `${sent} requests`);
  });
});
