import { laneActivities } from './shared';
import type { BillingChange, ReconcileReport, StripeEventInput } from '../src/billing/types';

// Stripe calls: transient failures (Stripe down, 429, 5xx) retry until they work; a request
// Stripe refuses fails at once, and the hourly reconciliation repairs whatever it left.
const stripe = () =>
  laneActivities('operations', {
    startToCloseTimeout: '1m',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5m', nonRetryableErrorTypes: ['STRIPE_REFUSED', 'BILLING_NOT_CONFIGURED'] },
  });
// Reconciliation pages through every subscription; it heartbeats per page.
const reconciler = () =>
  laneActivities('operations', {
    startToCloseTimeout: '1h',
    heartbeatTimeout: '2m',
    retry: { initialInterval: '10s', maximumAttempts: 5, nonRetryableErrorTypes: ['STRIPE_REFUSED', 'BILLING_NOT_CONFIGURED'] },
  });

/**
 * One verified Stripe event (workflow id `stripe-event-<event id>`, so each event applies once).
 * The event only says whose state changed: the customer's subscriptions are read again from
 * Stripe and applied as they are now, so late, repeated or reordered events cannot undo newer state.
 */
export async function stripeEventWorkflow(event: StripeEventInput): Promise<BillingChange | null> {
  return stripe().syncStripeCustomer({ customerId: event.customerId, userIdHint: event.userIdHint });
}

/** Hourly (a Schedule): compares Stripe's subscriptions with ours, repairs drift, reports it. */
export async function reconcileBillingWorkflow(): Promise<ReconcileReport> {
  return reconciler().reconcileStripeSubscriptions();
}
