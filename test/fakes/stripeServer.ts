/**
 * A loopback stand-in for the Stripe API, speaking the wire protocol the `stripe` package uses:
 * form-encoded bodies with bracketed keys (line_items[0][price]=…), query strings on GETs,
 * Bearer secret keys, Idempotency-Key replays (and Stripe's 409 while a request with the same key
 * is still running), Stripe's list envelopes with starting_after pagination, and its error shape.
 * It covers customers (create, retrieve), checkout.sessions (create, retrieve, list, expire),
 * billing_portal.sessions (create) and subscriptions (retrieve, list). Tests set the state
 * directly (subscriptions as Stripe would hold them) and inject faults.
 */
import http from 'node:http';
import crypto from 'node:crypto';
import { FakeState, FaultQueue, LoggedRequest, applyFault, closeServer, listenLoopback, readRequest, send, splitUrl } from './faults';

export interface FakeSubscriptionInput {
  customer: string;
  price: string;
  status?: string;
  id?: string;
  cancelAtPeriodEnd?: boolean;
  periodStart?: number;
  periodEnd?: number;
  metadata?: Record<string, string>;
  created?: number;
}

export interface FakeStripe {
  url: string;
  apiKey: string;
  close(): Promise<void>;
  faults: FaultQueue;
  requests: LoggedRequest[];
  /** Requests seen on a path (query excluded), e.g. count('GET', '/v1/subscriptions'). */
  count(method: string, path: string): number;
  /** Clears faults and the request log (state stays). */
  reset(): void;
  customers: Map<string, any>;
  subscriptions: Map<string, any>;
  checkoutSessions: Map<string, any>;
  /** Creates or replaces a subscription as Stripe holds it; returns Stripe's object. */
  setSubscription(input: FakeSubscriptionInput): any;
  updateSubscription(id: string, patch: Partial<FakeSubscriptionInput>): any;
  /** What Stripe does when a subscription ends: status canceled, ended and canceled now. */
  cancelSubscription(id: string): any;
  /** Pays an open Checkout session: makes its subscription and returns the completed session object. Throws for a session that is not open, which Stripe would not let anyone pay. */
  completeCheckout(sessionId: string): any;
  /** A Stripe event object around `object`, ready to sign and send. */
  event(type: string, object: unknown): any;
}

const now = () => Math.floor(Date.now() / 1000);
const newId = (prefix: string) => `${prefix}_test_${crypto.randomBytes(12).toString('hex')}`;
const MONTH = 30 * 86_400;
const DAY = 86_400;

/** Parses Stripe's form encoding (a[b][0][c]=v) into nested objects and arrays. */
export function parseStripeForm(text: string): Record<string, any> {
  const root: Record<string, any> = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const parts = rawKey.replace(/\]/g, '').split('[');
    let node: any = root;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node[part] = value;
      else node = node[part] ??= {};
    });
  }
  const arrays = (v: any): any => {
    if (typeof v !== 'object' || v === null) return v;
    const keys = Object.keys(v);
    const mapped = Object.fromEntries(keys.map((k) => [k, arrays(v[k])]));
    return keys.length > 0 && keys.every((k) => /^\d+$/.test(k)) ? keys.sort((a, b) => +a - +b).map((k) => mapped[k]) : mapped;
  };
  return arrays(root);
}

function stripeError(status: number, message: string, extra: Record<string, unknown> = {}) {
  return { status, body: { error: { type: 'invalid_request_error', message, ...extra } } };
}

export async function startFakeStripe(opts: { apiKey?: string } = {}): Promise<FakeStripe> {
  const apiKey = opts.apiKey ?? `sk_test_${crypto.randomBytes(8).toString('hex')}`;
  const state = new FakeState();
  const customers = new Map<string, any>();
  const subscriptions = new Map<string, any>();
  const checkoutSessions = new Map<string, any>();
  const idempotent = new Map<string, { status: number; body: unknown }>();
  const inFlight = new Set<string>();
  let base = '';

  // Line items and subscription_data are not part of the session object Stripe returns.
  const visibleSession = ({ line_items: _items, subscription_data: _data, ...visible }: any) => visible;

  const subscriptionObject = (input: FakeSubscriptionInput & { id: string }, previous?: any) => {
    const created = input.created ?? previous?.created ?? now();
    const start = input.periodStart ?? previous?.items.data[0].current_period_start ?? created;
    const end = input.periodEnd ?? previous?.items.data[0].current_period_end ?? start + MONTH;
    const atPeriodEnd = input.cancelAtPeriodEnd ?? previous?.cancel_at_period_end ?? false;
    const status = input.status ?? previous?.status ?? 'active';
    const ended = status === 'canceled' || status === 'incomplete_expired';
    return {
      id: input.id,
      object: 'subscription',
      customer: input.customer,
      status,
      created,
      start_date: created,
      livemode: false,
      metadata: input.metadata ?? previous?.metadata ?? {},
      cancel_at_period_end: atPeriodEnd,
      cancel_at: atPeriodEnd ? end : null,
      canceled_at: ended ? (previous?.canceled_at ?? now()) : atPeriodEnd ? (previous?.canceled_at ?? now()) : null,
      ended_at: ended ? (previous?.ended_at ?? now()) : null,
      collection_method: 'charge_automatically',
      currency: 'usd',
      latest_invoice: null,
      items: {
        object: 'list',
        data: [
          {
            id: previous?.items.data[0].id ?? newId('si'),
            object: 'subscription_item',
            subscription: input.id,
            quantity: 1,
            current_period_start: start,
            current_period_end: end,
            price: { id: input.price, object: 'price', active: true, currency: 'usd', recurring: { interval: 'month', interval_count: 1 }, type: 'recurring' },
          },
        ],
        has_more: false,
        total_count: 1,
        url: `/v1/subscription_items?subscription=${input.id}`,
      },
    };
  };

  const fake: FakeStripe = {
    url: '',
    apiKey,
    close: () => closeServer(server),
    faults: state.faults,
    requests: state.requests,
    count: (method, path) => state.requests.filter((r) => r.method === method && r.path === path).length,
    reset: () => state.reset(),
    customers,
    subscriptions,
    checkoutSessions,
    setSubscription(input) {
      const id = input.id ?? newId('sub');
      const sub = subscriptionObject({ ...input, id }, subscriptions.get(id));
      subscriptions.set(id, sub);
      return sub;
    },
    updateSubscription(id, patch) {
      const prev = subscriptions.get(id);
      if (!prev) throw new Error(`no subscription ${id}`);
      const sub = subscriptionObject({ customer: prev.customer, price: prev.items.data[0].price.id, ...patch, id }, prev);
      subscriptions.set(id, sub);
      return sub;
    },
    cancelSubscription(id) {
      return fake.updateSubscription(id, { status: 'canceled', cancelAtPeriodEnd: false });
    },
    completeCheckout(sessionId) {
      const session = checkoutSessions.get(sessionId);
      if (!session) throw new Error(`no checkout session ${sessionId}`);
      if (session.status !== 'open') throw new Error(`checkout session ${sessionId} is ${session.status}, not open`);
      const sub = fake.setSubscription({ customer: session.customer, price: session.line_items[0].price, metadata: session.subscription_data?.metadata ?? {} });
      Object.assign(session, { status: 'complete', payment_status: 'paid', subscription: sub.id, url: null });
      return visibleSession(session);
    },
    event(type, object) {
      return {
        id: newId('evt'),
        object: 'event',
        api_version: '2026-10-28.endive',
        created: now(),
        type,
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        data: { object },
      };
    },
  };

  const routes: Array<{ method: string; pattern: RegExp; run: (m: RegExpExecArray, params: any) => { status: number; body: unknown } }> = [
    {
      method: 'POST',
      pattern: /^\/v1\/customers$/,
      run: (_m, p) => {
        const customer = {
          id: newId('cus'),
          object: 'customer',
          created: now(),
          email: p.email ?? null,
          name: p.name ?? null,
          metadata: p.metadata ?? {},
          livemode: false,
        };
        customers.set(customer.id, customer);
        return { status: 200, body: customer };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/customers\/([^/]+)$/,
      run: (m) => {
        const c = customers.get(m[1]!);
        return c ? { status: 200, body: c } : stripeError(404, `No such customer: '${m[1]}'`, { code: 'resource_missing', param: 'id' });
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/checkout\/sessions$/,
      run: (_m, p) => {
        if (p.mode !== 'subscription') return stripeError(400, 'This fake only supports mode=subscription', { param: 'mode' });
        if (!p.line_items?.[0]?.price)
          return stripeError(400, 'Missing required param: line_items[0][price].', { code: 'parameter_missing', param: 'line_items' });
        if (p.customer && !customers.has(p.customer))
          return stripeError(400, `No such customer: '${p.customer}'`, { code: 'resource_missing', param: 'customer' });
        if (!p.success_url) return stripeError(400, 'Missing required param: success_url.', { code: 'parameter_missing', param: 'success_url' });
        const id = newId('cs');
        const session = {
          id,
          object: 'checkout.session',
          mode: 'subscription',
          status: 'open',
          payment_status: 'unpaid',
          created: now(),
          expires_at: now() + DAY,
          customer: p.customer ?? null,
          client_reference_id: p.client_reference_id ?? null,
          metadata: p.metadata ?? {},
          success_url: p.success_url,
          cancel_url: p.cancel_url ?? null,
          subscription: null,
          url: `${base}/c/pay/${id}`,
          line_items: p.line_items,
          subscription_data: p.subscription_data ?? null,
        };
        checkoutSessions.set(id, session);
        return { status: 200, body: visibleSession(session) };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/checkout\/sessions$/,
      run: (_m, p) => {
        const limit = Math.min(100, Math.max(1, Number(p.limit ?? 10)));
        // Newest first, as Stripe lists.
        const data = [...checkoutSessions.values()]
          .filter((s) => (!p.customer || s.customer === p.customer) && (!p.status || s.status === p.status))
          .sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1))
          .map(visibleSession);
        return { status: 200, body: { object: 'list', url: '/v1/checkout/sessions', has_more: data.length > limit, data: data.slice(0, limit) } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/checkout\/sessions\/([^/]+)$/,
      run: (m) => {
        const s = checkoutSessions.get(m[1]!);
        return s
          ? { status: 200, body: visibleSession(s) }
          : stripeError(404, `No such checkout.session: '${m[1]}'`, { code: 'resource_missing', param: 'session' });
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/,
      run: (m) => {
        const s = checkoutSessions.get(m[1]!);
        if (!s) return stripeError(404, `No such checkout.session: '${m[1]}'`, { code: 'resource_missing', param: 'session' });
        // Stripe expires only open sessions; a paid one stays complete.
        if (s.status !== 'open')
          return stripeError(400, `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${s.status}".`);
        Object.assign(s, { status: 'expired', url: null });
        return { status: 200, body: visibleSession(s) };
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/billing_portal\/sessions$/,
      run: (_m, p) => {
        if (!customers.has(p.customer)) return stripeError(400, `No such customer: '${p.customer}'`, { code: 'resource_missing', param: 'customer' });
        const id = newId('bps');
        return {
          status: 200,
          body: {
            id,
            object: 'billing_portal.session',
            customer: p.customer,
            return_url: p.return_url ?? null,
            livemode: false,
            url: `${base}/p/session/${id}`,
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/subscriptions\/([^/]+)$/,
      run: (m) => {
        const s = subscriptions.get(m[1]!);
        return s ? { status: 200, body: s } : stripeError(404, `No such subscription: '${m[1]}'`, { code: 'resource_missing', param: 'id' });
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/subscriptions$/,
      run: (_m, p) => {
        if (p.customer && !customers.has(p.customer))
          return stripeError(400, `No such customer: '${p.customer}'`, { code: 'resource_missing', param: 'customer' });
        const limit = Math.min(100, Math.max(1, Number(p.limit ?? 10)));
        const status = p.status as string | undefined;
        // Newest first, as Stripe lists; without a status, canceled subscriptions are left out.
        const all = [...subscriptions.values()]
          .filter((s) => !p.customer || s.customer === p.customer)
          .filter((s) =>
            status === 'all'
              ? true
              : status === 'ended'
                ? ['canceled', 'incomplete_expired'].includes(s.status)
                : status
                  ? s.status === status
                  : s.status !== 'canceled',
          )
          .sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1));
        let from = 0;
        if (p.starting_after) {
          const i = all.findIndex((s) => s.id === p.starting_after);
          if (i < 0) return stripeError(400, `No such subscription: '${p.starting_after}'`, { code: 'resource_missing', param: 'starting_after' });
          from = i + 1;
        }
        const data = all.slice(from, from + limit);
        return { status: 200, body: { object: 'list', url: '/v1/subscriptions', has_more: from + limit < all.length, data } };
      },
    },
  ];

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, { error: { type: 'api_error', message: `fake server error: ${String(err)}` } }));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { path, query } = splitUrl(req.url);
    const { text } = await readRequest(req);
    const method = req.method ?? 'GET';
    const params = method === 'GET' ? parseStripeForm(new URL(req.url ?? '/', 'http://x').search.slice(1)) : parseStripeForm(text);
    state.record({ method, path, query, headers: req.headers, body: params });
    res.setHeader('request-id', `req_${crypto.randomBytes(7).toString('hex')}`);
    const key = method === 'POST' && typeof req.headers['idempotency-key'] === 'string' ? `${path} ${req.headers['idempotency-key']}` : undefined;
    if (key && inFlight.has(key)) {
      // What Stripe answers while the first request with this key is still executing; nothing is saved.
      send(res, 409, {
        error: { type: 'idempotency_error', message: 'There is currently another in-progress request using this Idempotency-Key. Please try again later.' },
      });
      return;
    }
    if (key) inFlight.add(key);
    try {
      // A delay-only fault stands for a slow Stripe: the request counts as executing meanwhile.
      if (await applyFault(state, path, res)) return;
      if (req.headers.authorization !== `Bearer ${apiKey}`) {
        send(res, 401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided: sk_test_****' } });
        return;
      }
      const replay = key ? idempotent.get(key) : undefined;
      if (replay) {
        send(res, replay.status, replay.body, { 'idempotent-replayed': 'true' });
        return;
      }
      for (const r of routes) {
        const m = r.method === method ? r.pattern.exec(path) : null;
        if (!m) continue;
        const out = r.run(m, params);
        if (key && out.status < 500) idempotent.set(key, out);
        send(res, out.status, out.body);
        return;
      }
      send(res, 404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path}).` } });
    } finally {
      if (key) inFlight.delete(key);
    }
  }

  const port = await listenLoopback(server);
  base = `http://127.0.0.1:${port}`;
  fake.url = base;
  return fake;
}
