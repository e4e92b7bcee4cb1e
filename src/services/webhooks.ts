import type { Knex } from 'knex';
import { AppError, conflict, notFound } from '../errors';
import type { User, WebhookDelivery, WebhookEndpoint } from '../models';
import { SourceError } from '../sources/errors';
import { defaultLookup, parseTargetUrl, resolveAndCheck, type Lookup } from '../sources/safeRequest';
import type { WebhookEventType } from '../webhooks/events';
import { newSecret } from './tokens';

/** Endpoints a user may have (README: webhooks); each event is POSTed to every one subscribed. */
export const MAX_WEBHOOKS_PER_USER = 10;
const SECRET_PREFIX = 'whsec_';
// How long the address check at creation may wait for DNS.
const RESOLVE_TIMEOUT_MS = 5_000;

const iso = (d: Date) => new Date(d).toISOString();

export function webhookView(w: Pick<WebhookEndpoint, 'id' | 'url' | 'events' | 'created_at'>) {
  return { id: w.id, url: w.url, events: w.events as WebhookEventType[], createdAt: iso(w.created_at) };
}

export function webhookDeliveryView(d: Pick<WebhookDelivery, 'event_id' | 'attempt' | 'status' | 'error' | 'created_at'> & { type: string }) {
  return { eventId: d.event_id, type: d.type as WebhookEventType, attempt: d.attempt, status: d.status, error: d.error, at: iso(d.created_at) };
}

const invalidUrl = (message: string) => new AppError('VALIDATION_FAILED', `Invalid body: body.url: ${message}`, { fields: [{ field: 'body.url', message }] });

/** Webhook endpoints: where each user's job events are POSTed, signed with a secret shown once. */
export class WebhookService {
  constructor(
    private readonly knex: Knex,
    private readonly opts: { allowLoopback: boolean; lookup?: Lookup },
  ) {}

  /**
   * The URL must pass the address rules of URL sources now (deliveries check it again each time,
   * since DNS answers change): no loopback, private, link-local or metadata addresses.
   */
  private async checkedUrl(raw: string): Promise<string> {
    const signal = AbortSignal.timeout(RESOLVE_TIMEOUT_MS);
    try {
      const u = parseTargetUrl(raw, 'The URL');
      await resolveAndCheck(u, { allowLoopback: this.opts.allowLoopback, lookup: this.opts.lookup ?? defaultLookup, signal });
      return u.href;
    } catch (err) {
      if (err instanceof SourceError) throw invalidUrl(err.message);
      if (signal.aborted) throw invalidUrl(`Could not resolve the host within ${RESOLVE_TIMEOUT_MS / 1000} s.`);
      throw err;
    }
  }

  async create(user: User, input: { url: string; events: WebhookEventType[] }) {
    const url = await this.checkedUrl(input.url);
    const secret = newSecret(SECRET_PREFIX);
    const row = await this.knex.transaction(async (trx) => {
      // One creation at a time per user, so concurrent requests cannot pass the limit together.
      await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`webhook-endpoints:${user.id}`]);
      const [counted] = await trx('webhook_endpoints').where({ user_id: user.id }).count<{ count: number }[]>('* as count');
      if (Number(counted?.count ?? 0) >= MAX_WEBHOOKS_PER_USER) {
        throw conflict(`At most ${MAX_WEBHOOKS_PER_USER} webhook endpoints per user; delete one first`, { limit: MAX_WEBHOOKS_PER_USER });
      }
      const [inserted] = await trx('webhook_endpoints').insert({ user_id: user.id, url, events: input.events, secret }).returning('*');
      return inserted!;
    });
    return { ...webhookView(row), secret };
  }

  /** The caller's endpoints, newest first, without their secrets. */
  async list(user: User, q: { limit: number; offset: number }) {
    const base = this.knex('webhook_endpoints').where({ user_id: user.id });
    const [counted] = await base.clone().count<{ count: number }[]>('* as count');
    const rows = await base.clone().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).offset(q.offset);
    return { items: rows.map(webhookView), total: Number(counted?.count ?? 0), limit: q.limit, offset: q.offset };
  }

  /** Deleted at once: deliveries in progress find it gone at their next attempt and stop. */
  async remove(user: User, id: string): Promise<void> {
    const n = await this.knex('webhook_endpoints').where({ id, user_id: user.id }).delete();
    if (!n) throw notFound('Webhook');
  }

  /** The endpoint's delivery attempts, most recent first. */
  async deliveries(user: User, id: string, q: { limit: number; offset: number }) {
    const endpoint = await this.knex('webhook_endpoints').where({ id, user_id: user.id }).first('id');
    if (!endpoint) throw notFound('Webhook');
    const base = this.knex('webhook_deliveries as d').where('d.endpoint_id', id);
    const [counted] = await base.clone().count<{ count: number }[]>('* as count');
    const rows = await base
      .clone()
      .join('webhook_events as e', 'e.id', 'd.event_id')
      .orderBy('d.created_at', 'desc')
      .orderBy('d.id', 'desc')
      .limit(q.limit)
      .offset(q.offset)
      .select<Array<WebhookDelivery & { type: string }>>('d.*', 'e.type');
    return { items: rows.map(webhookDeliveryView), total: Number(counted?.count ?? 0), limit: q.limit, offset: q.offset };
  }
}
