import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import { plansFromConfig } from '../src/billing/plans';
import { createStripe, isStripeError, isTransientStripeError } from '../src/billing/stripe';
import { reconcile, syncCustomer, type BillingDeps } from '../src/billing/sync';
import type { BillingChange, ReconcileReport } from '../src/billing/types';
import type { ActivityDeps } from './deps';

/** Stripe's refusals (bad request, auth) fail at once; outages are rethrown for Temporal to retry. */
function classifiedStripe(err: unknown): unknown {
  if (isStripeError(err) && !isTransientStripeError(err)) {
    return ApplicationFailure.create({ type: 'STRIPE_REFUSED', message: `Stripe refused the request: ${err.message}`, nonRetryable: true });
  }
  return err;
}

export function createBillingActivities({ knex, config, logger }: ActivityDeps) {
  // Temporal retries activities, so the SDK must not retry on its own as well.
  const stripe = createStripe(config, { maxNetworkRetries: 0 });
  const deps = (): BillingDeps => {
    if (!stripe) throw ApplicationFailure.create({ type: 'BILLING_NOT_CONFIGURED', message: 'STRIPE_SECRET_KEY is not set', nonRetryable: true });
    return { knex, stripe, plans: plansFromConfig(config), logger };
  };

  return {
    /** Re-reads a customer's subscriptions from Stripe and applies them; null for a stranger. */
    async syncStripeCustomer(a: { customerId: string; userIdHint: string | null }): Promise<BillingChange | null> {
      try {
        return await syncCustomer(deps(), a);
      } catch (err) {
        throw classifiedStripe(err);
      }
    },

    /** Every Stripe subscription against our rows and users; repairs drift, returns what changed. */
    async reconcileStripeSubscriptions(): Promise<ReconcileReport> {
      try {
        const report = await reconcile(deps(), (scanned) => heartbeat({ scanned }));
        if (report.repaired) logger.warn({ repaired: report.repaired, changes: report.changes }, 'billing reconciliation repaired drift');
        return report;
      } catch (err) {
        throw classifiedStripe(err);
      }
    },
  };
}
