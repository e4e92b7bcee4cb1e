import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { SourceError } from '../sources/errors';
import { defaultLookup, networkError, openPinned, parseTargetUrl, type Lookup } from '../sources/safeRequest';

/** API.md: an endpoint that has not answered within 10 s has failed this attempt. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
const USER_AGENT = 'AIMake-Webhooks/1.0';

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed with the endpoint's secret
 * (the whole `whsec_…` string as UTF-8). README "Webhooks" shows a client how to check it.
 */
export function signatureHeader(secret: string, t: number, body: Buffer): string {
  const mac = crypto.createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
  return `t=${t},v1=${mac}`;
}

/** One attempt's outcome: status is the HTTP status answered, null without an answer. */
export interface AttemptResult {
  status: number | null;
  error: string | null;
  /** The address policy refused the target: trying again would be refused again. */
  refused: boolean;
}

/**
 * POSTs a signed event once, through the SSRF-safe client of URL sources: the endpoint's host must
 * resolve to public addresses only (loopback too with allowLoopback, for tests), the connection
 * goes to the address that was checked, and a redirect is an answer like any other non-2xx.
 */
export async function postEvent(
  target: { url: string; secret: string },
  event: { id: string; body: string },
  opts: { allowLoopback: boolean; signal?: AbortSignal; lookup?: Lookup; timeoutMs?: number },
): Promise<AttemptResult> {
  const timeoutMs = opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('timeout')), timeoutMs);
  const onAbort = () => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let u: URL | null = null;
  try {
    u = parseTargetUrl(target.url, 'The webhook URL');
    const body = Buffer.from(event.body, 'utf8');
    const t = Math.floor(Date.now() / 1000);
    const res = await openPinned(
      u,
      { allowLoopback: opts.allowLoopback, lookup: opts.lookup ?? defaultLookup, signal: controller.signal },
      {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': USER_AGENT,
          'AIMake-Event-Id': event.id,
          'AIMake-Signature': signatureHeader(target.secret, t, body),
        },
        body,
      },
    );
    // The status is the answer; the body is of no interest.
    res.destroy();
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return { status, error: null, refused: false };
    const redirect = status >= 300 && status < 400 ? '; redirects are not followed' : '';
    return { status, error: `The endpoint answered HTTP ${status}${redirect}.`, refused: false };
  } catch (err) {
    if (controller.signal.aborted && !opts.signal?.aborted) {
      return { status: null, error: `No answer within ${timeoutMs / 1000} s.`, refused: false };
    }
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (err instanceof SourceError) {
      const refused = err.code === 'SOURCE_FORBIDDEN_ADDRESS' || err.code === 'SOURCE_INVALID_URL';
      return { status: null, error: err.message, refused };
    }
    return { status: null, error: u ? networkError(err, u).message : 'Could not reach the endpoint.', refused: false };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

export type DeliveryOutcome =
  | { outcome: 'delivered'; status: number }
  /** An earlier attempt was answered 2xx, but its worker died before saying so. */
  | { outcome: 'already-delivered' }
  /** The endpoint (or the event) was deleted meanwhile: nothing to do. */
  | { outcome: 'gone' }
  | { outcome: 'failed'; status: number | null; error: string; refused: boolean };

/**
 * One attempt to deliver an event to an endpoint, logged in webhook_deliveries. An endpoint that
 * already answered 2xx is not sent the event again: the log is written before the attempt
 * reports to Temporal, so a worker dying in between leaves the answer on record. (Dying between
 * the answer and the log is the one way an event arrives twice; receivers dedupe on the id.)
 */
export async function deliverWebhookEvent(
  knex: Knex,
  a: { endpointId: string; eventId: string; attempt: number; allowLoopback: boolean; signal?: AbortSignal },
): Promise<DeliveryOutcome> {
  const endpoint = await knex('webhook_endpoints').where({ id: a.endpointId }).first('url', 'secret');
  const event = await knex('webhook_events').where({ id: a.eventId }).first('id', 'body');
  if (!endpoint || !event) return { outcome: 'gone' };
  const answered = await knex('webhook_deliveries').where({ endpoint_id: a.endpointId, event_id: a.eventId }).whereBetween('status', [200, 299]).first('id');
  if (answered) return { outcome: 'already-delivered' };

  const result = await postEvent(endpoint, event, { allowLoopback: a.allowLoopback, signal: a.signal });
  await knex('webhook_deliveries').insert({ endpoint_id: a.endpointId, event_id: a.eventId, attempt: a.attempt, status: result.status, error: result.error });
  if (result.error === null && result.status !== null) return { outcome: 'delivered', status: result.status };
  return { outcome: 'failed', status: result.status, error: result.error ?? 'No answer.', refused: result.refused };
}
