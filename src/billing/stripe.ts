import Stripe from 'stripe';
import type { Config } from '../config';

export { Stripe };

/**
 * The real Stripe SDK, built from configuration. STRIPE_API_BASE_URL sends it elsewhere (tests: a
 * fake on loopback). Inside activities retries are Temporal's job, so callers there pass 0.
 */
export function createStripe(
  config: Pick<Config, 'STRIPE_SECRET_KEY' | 'STRIPE_API_BASE_URL' | 'STRIPE_TIMEOUT_MS'>,
  opts: { maxNetworkRetries: number },
): Stripe | null {
  if (!config.STRIPE_SECRET_KEY) return null;
  let endpoint = {};
  if (config.STRIPE_API_BASE_URL) {
    const u = new URL(config.STRIPE_API_BASE_URL);
    const protocol = u.protocol === 'http:' ? 'http' : 'https';
    endpoint = { host: u.hostname, port: u.port || (protocol === 'http' ? 80 : 443), protocol };
  }
  return new Stripe(config.STRIPE_SECRET_KEY, {
    ...endpoint,
    maxNetworkRetries: opts.maxNetworkRetries,
    timeout: config.STRIPE_TIMEOUT_MS,
    // No usage telemetry headers: nothing about our traffic leaves except the requests themselves.
    telemetry: false,
    appInfo: { name: 'aimake' },
  });
}

/** Worth retrying later: Stripe unreachable, overloaded, rate limiting, or a 5xx. */
export function isTransientStripeError(err: unknown): boolean {
  if (!(err instanceof Stripe.errors.StripeError)) return false;
  if (err instanceof Stripe.errors.StripeConnectionError || err instanceof Stripe.errors.StripeRateLimitError) return true;
  if (err instanceof Stripe.errors.StripeAPIError) return true;
  return (err.statusCode ?? 0) >= 500 || err.statusCode === 409 || err.statusCode === 429;
}

export const isStripeError = (err: unknown): err is Stripe.errors.StripeError => err instanceof Stripe.errors.StripeError;

/** The id behind an expandable field (a string, an object with an id, or nothing). */
export function idOf(field: string | { id: string } | null | undefined): string | null {
  if (!field) return null;
  return typeof field === 'string' ? field : field.id;
}
