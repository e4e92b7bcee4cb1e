// Plain data passed between the API, the billing workflows and their activities.
import type { Plan } from './plans';

/** What a verified Stripe event needs to be applied: only whose state to re-read. */
export interface StripeEventInput {
  eventId: string;
  type: string;
  customerId: string;
  /** client_reference_id / metadata.user_id when the event carries one; the database link wins. */
  userIdHint: string | null;
}

export interface FieldChange {
  field: string;
  from: string | number | null;
  to: string | number | null;
}

/** One customer's billing state as applied; `changes` is empty when it was already right. */
export interface BillingChange {
  userId: string;
  customerId: string;
  subscriptionId: string | null;
  plan: Plan;
  status: string;
  changes: FieldChange[];
}

export interface ReconcileReport {
  /** Subscriptions read from Stripe. */
  scanned: number;
  /** Customers compared (Stripe's and ours). */
  customers: number;
  repaired: number;
  /** The repairs, at most 100 of them (the rest are counted in `repaired`). */
  changes: BillingChange[];
  /** Customers Stripe refused to show (e.g. deleted), left as they were. */
  failures: Array<{ customerId: string; message: string }>;
}
