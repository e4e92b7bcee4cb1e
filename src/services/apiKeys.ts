import type { Knex } from 'knex';
import { forbidden, notFound } from '../errors';
import type { ApiKey } from '../models';
import type { AuthContext } from './accounts';
import { digestsEqual, newSecret, sha256Hex } from './tokens';

export const API_KEY_SCOPES = ['tts', 'podcast', 'all'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];
/** Requests per minute a key may be given (API.md default 60). */
export const API_KEY_RATE_LIMIT = { min: 1, max: 10_000, default: 60 } as const;

const KEY_PREFIX = 'ak_';
// key_prefix is VARCHAR(10): 'ak_' and 7 random characters, enough to find the row by index.
const PREFIX_LENGTH = 10;
// last_used_at is a "recently used" hint; refreshing it at most once a minute spares a write per request.
const LAST_USED_PRECISION_MS = 60_000;

/** What a key allows, carried on the request's AuthContext. */
export interface ApiKeyGrant {
  id: string;
  scopes: ApiKeyScope[];
  rateLimit: number;
}

export interface CreateApiKeyInput {
  name: string;
  scopes: ApiKeyScope[];
  rateLimit: number;
  expiresAt?: Date;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export function apiKeyView(k: Pick<ApiKey, 'id' | 'name' | 'key_prefix' | 'scopes' | 'rate_limit' | 'expires_at' | 'last_used_at' | 'created_at'>) {
  return {
    id: k.id,
    name: k.name,
    prefix: k.key_prefix,
    scopes: k.scopes as ApiKeyScope[],
    rateLimit: k.rate_limit,
    expiresAt: iso(k.expires_at),
    lastUsedAt: iso(k.last_used_at),
    createdAt: iso(k.created_at)!,
  };
}

/**
 * API keys (team plan): random secrets shown once, stored as SHA-256 with a short prefix to find
 * them by index. Keys are managed with a session only, so a leaked key cannot mint others.
 */
export class ApiKeys {
  constructor(private readonly knex: Knex) {}

  async create(auth: AuthContext, input: CreateApiKeyInput) {
    assertSession(auth);
    if (auth.user.plan !== 'team') throw forbidden('API keys need the team plan');
    const key = newSecret(KEY_PREFIX);
    const [row] = await this.knex('api_keys')
      .insert({
        user_id: auth.user.id,
        name: input.name,
        key_hash: sha256Hex(key),
        key_prefix: key.slice(0, PREFIX_LENGTH),
        scopes: input.scopes,
        rate_limit: input.rateLimit,
        expires_at: input.expiresAt ?? null,
      })
      .returning('*');
    if (!row) throw new Error('insert returned no key');
    return { ...apiKeyView(row), key };
  }

  /** The caller's keys that are not revoked (expired ones included, so they can be cleaned up), newest first. */
  async list(auth: AuthContext, q: { limit: number; offset: number }) {
    // Listing and revoking need no team plan: a user who left it can still see and revoke old keys.
    assertSession(auth);
    const base = this.knex('api_keys').where({ user_id: auth.user.id, is_active: true });
    const [counted] = await base.clone().count<{ count: number }[]>('* as count');
    const rows = await base.clone().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).offset(q.offset);
    return { items: rows.map(apiKeyView), total: Number(counted?.count ?? 0), limit: q.limit, offset: q.offset };
  }

  /** Revoked at once: every request looks the key up, nothing caches it. */
  async revoke(auth: AuthContext, id: string): Promise<void> {
    assertSession(auth);
    const n = await this.knex('api_keys').where({ id, user_id: auth.user.id, is_active: true }).update({ is_active: false });
    if (!n) throw notFound('API key');
  }

  /** The active user behind an active, unexpired key, with what the key allows; or null. */
  async authenticate(key: string): Promise<(AuthContext & { apiKey: ApiKeyGrant }) | null> {
    if (!key.startsWith(KEY_PREFIX) || key.length < 32 || key.length > 128) return null;
    const hash = sha256Hex(key);
    const candidates = await this.knex('api_keys')
      .where('key_prefix', key.slice(0, PREFIX_LENGTH))
      .where('is_active', true)
      .where((b) => b.whereNull('expires_at').orWhere('expires_at', '>', new Date()));
    // Prefixes may collide; the hash decides, compared in constant time.
    const row = candidates.find((k) => digestsEqual(k.key_hash, hash));
    if (!row) return null;
    const user = await this.knex('users').where({ id: row.user_id, is_active: true }).first();
    if (!user) return null;
    await this.touch(row);
    // The seed's columns are nullable with defaults; a NULL means the default.
    const apiKey = { id: row.id, scopes: (row.scopes ?? ['tts']) as ApiKeyScope[], rateLimit: row.rate_limit ?? API_KEY_RATE_LIMIT.default };
    return { user, via: 'apiKey', apiKey };
  }

  private async touch(row: ApiKey): Promise<void> {
    if (row.last_used_at && Date.now() - new Date(row.last_used_at).getTime() < LAST_USED_PRECISION_MS) return;
    // Conditional, so concurrent requests on every process write it once a minute at most.
    await this.knex('api_keys')
      .where({ id: row.id })
      .where((b) => b.whereNull('last_used_at').orWhere('last_used_at', '<', this.knex.raw(`NOW() - INTERVAL '1 minute'`)))
      .update({ last_used_at: this.knex.fn.now() });
  }
}

function assertSession(auth: AuthContext) {
  if (auth.via !== 'session') throw forbidden('API keys are managed with a signed-in session, not with an API key');
}
