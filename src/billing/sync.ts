import type { Knex } from 'knex';
import type { Subscription, User } from '../models';
import type { Logger } from '../logger';
import type { PaidPlan, Plan, Plans } from './plans';
import { idOf, isStripeError, isTransientStripeError, type Stripe } from './stripe';
import type { BillingChange, FieldChange, ReconcileReport } from './types';

/**
 * Stripe is the source of truth for paid plans. Whatever made us look (a webhook, the hourly
 * reconciliation), we re-read the customer's subscriptions from Stripe and make the database say
 * the same: the `subscriptions` row (one per user) and the user's plan and quota_limit. Applying
 * current state rather than an event's payload makes late, repeated and reordered events harmless.
 *
 * What a subscription's status grants:
 * - active, trialing: its plan. A cancel_at_period_end subscription stays active, so the plan is
 *   kept until Stripe ends it at current_period_end (it then turns canceled).
 * - past_due: its plan still, while Stripe retries the card (a grace period); the row says
 *   past_due. When the retries give up Stripe makes it unpaid or canceled, which ends the plan.
 * - canceled, unpaid, incomplete, incomplete_expired, paused: free.
 * Statuses are stored as Stripe names them (a superset of the seed's active/canceled/past_due).
 */
const GRANTING = new Set(['active', 'trialing', 'past_due']);
const TERMINAL = new Set(['canceled', 'incomplete_expired']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface SubscriptionSnapshot {
  id: string;
  customerId: string;
  status: string;
  priceId: string | null;
  plan: PaidPlan | null;
  currentPeriodStart: Date | null;
  currentPeriodEnd: Date | null;
  cancelAt: Date | null;
  canceledAt: Date | null;
  created: number;
  /** metadata.user_id, set on subscriptions our Checkout sessions create. */
  userId: string | null;
}

const fromUnix = (s: number | null | undefined) => (typeof s === 'number' ? new Date(s * 1000) : null);

export function snapshotOf(sub: Stripe.Subscription, plans: Plans): SubscriptionSnapshot {
  const items = sub.items?.data ?? [];
  // The item that sells our best plan decides (a subscription normally has exactly one).
  const priced = items.map((item) => ({ item, plan: plans.planForPrice(item.price?.id) }));
  const chosen = priced.find((p) => p.plan === 'team') ?? priced.find((p) => p.plan === 'pro') ?? priced[0];
  // Billing periods live on items since API version 2025-03-31; older versions kept them on the subscription.
  const legacy = sub as unknown as { current_period_start?: number; current_period_end?: number };
  const periodStart = chosen?.item.current_period_start ?? legacy.current_period_start;
  const periodEnd = chosen?.item.current_period_end ?? legacy.current_period_end;
  return {
    id: sub.id,
    customerId: idOf(sub.customer as string | { id: string })!,
    status: sub.status,
    priceId: chosen?.item.price?.id ?? null,
    plan: chosen?.plan ?? null,
    currentPeriodStart: fromUnix(periodStart),
    currentPeriodEnd: fromUnix(periodEnd),
    cancelAt: fromUnix(sub.cancel_at) ?? (sub.cancel_at_period_end ? fromUnix(periodEnd) : null),
    canceledAt: fromUnix(sub.canceled_at),
    created: sub.created,
    userId: sub.metadata?.user_id ?? null,
  };
}

/** The subscription that decides a customer's plan: a live one before an ended one, newest first. */
export function governing(subs: SubscriptionSnapshot[]): SubscriptionSnapshot | null {
  const rank = (s: SubscriptionSnapshot) => (GRANTING.has(s.status) && s.plan ? 1 : 0);
  return [...subs].sort((a, b) => rank(b) - rank(a) || b.created - a.created)[0] ?? null;
}

type SubscriptionRow = Pick<
  Subscription,
  | 'user_id'
  | 'plan'
  | 'status'
  | 'stripe_customer_id'
  | 'stripe_subscription_id'
  | 'stripe_price_id'
  | 'current_period_start'
  | 'current_period_end'
  | 'cancel_at'
  | 'canceled_at'
>;

type UserPlanRow = Pick<User, 'plan' | 'quota_limit'>;

type RowState = Omit<SubscriptionRow, 'user_id'>;

/** What the database should say for a customer, given Stripe's governing subscription (or none). */
export function desiredState(plans: Plans, customerId: string, row: SubscriptionRow | undefined, snap: SubscriptionSnapshot | null) {
  const plan: Plan = snap && snap.plan && GRANTING.has(snap.status) ? snap.plan : 'free';
  const subscription: RowState = snap
    ? {
        plan: snap.plan ?? row?.plan ?? 'pro',
        status: snap.status,
        stripe_customer_id: customerId,
        stripe_subscription_id: snap.id,
        stripe_price_id: snap.priceId,
        current_period_start: snap.currentPeriodStart,
        current_period_end: snap.currentPeriodEnd,
        cancel_at: snap.cancelAt,
        canceled_at: snap.canceledAt,
      }
    : {
        // No subscription in Stripe at all: a customer who never finished Checkout stays
        // 'incomplete'; one whose subscriptions are gone has nothing left to grant.
        plan: row?.plan ?? 'pro',
        status: row?.stripe_subscription_id && !TERMINAL.has(row.status) ? 'canceled' : (row?.status ?? 'incomplete'),
        stripe_customer_id: customerId,
        stripe_subscription_id: row?.stripe_subscription_id ?? null,
        stripe_price_id: row?.stripe_price_id ?? null,
        current_period_start: row?.current_period_start ?? null,
        current_period_end: row?.current_period_end ?? null,
        cancel_at: row?.cancel_at ?? null,
        canceled_at: row?.canceled_at ?? null,
      };
  return { subscription, user: { plan, quota_limit: plans.quotaFor(plan) } };
}

const comparable = (v: unknown) => (v instanceof Date ? v.toISOString() : ((v ?? null) as string | number | null));

/** The fields that differ between the database and the desired state, as from → to. */
export function diffState(row: SubscriptionRow | undefined, user: UserPlanRow, desired: ReturnType<typeof desiredState>): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const [field, to] of Object.entries(desired.subscription)) {
    const from = row ? comparable(row[field as keyof RowState]) : null;
    if (row ? from !== comparable(to) : to !== null) changes.push({ field: `subscription.${field}`, from, to: comparable(to) });
  }
  for (const field of ['plan', 'quota_limit'] as const) {
    if (user[field] !== desired.user[field]) changes.push({ field: `user.${field}`, from: user[field], to: desired.user[field] });
  }
  return changes;
}

export interface BillingDeps {
  knex: Knex;
  stripe: Stripe;
  plans: Plans;
  logger: Logger;
}

/** Every subscription of a customer, ended ones included; a deleted customer has none left. */
export async function listCustomerSubscriptions(stripe: Stripe, customerId: string): Promise<Stripe.Subscription[]> {
  const subs: Stripe.Subscription[] = [];
  try {
    for await (const sub of stripe.subscriptions.list({ customer: customerId, status: 'all', limit: 100 })) subs.push(sub);
  } catch (err) {
    if (isStripeError(err) && err.code === 'resource_missing' && err.param === 'customer') return [];
    throw err;
  }
  return subs;
}

/** Our user behind a Stripe customer: the stored link first, then ids Stripe carries for us. */
async function resolveUser(deps: BillingDeps, trx: Knex.Transaction, customerId: string, hints: Array<string | null>): Promise<string | null> {
  const linked = await trx('subscriptions').where({ stripe_customer_id: customerId }).first('user_id');
  if (linked) return linked.user_id;
  const known = async (id: string | null | undefined) => Boolean(id && UUID.test(id) && (await trx('users').where({ id }).first('id')));
  for (const id of hints) if (await known(id)) return id;
  // Customers made by our checkout carry the user id in their metadata.
  const customer = await deps.stripe.customers.retrieve(customerId).catch((err) => {
    if (isTransientStripeError(err)) throw err;
    return null;
  });
  const fromCustomer = customer && !customer.deleted ? customer.metadata?.user_id : null;
  return (await known(fromCustomer)) ? fromCustomer! : null;
}

/**
 * Re-reads one customer's subscriptions from Stripe and applies them. The read happens under a
 * per-customer advisory lock, so two events for one customer can never apply an older read after
 * a newer one. Returns null for a customer that is not one of our users.
 */
export async function syncCustomer(deps: BillingDeps, args: { customerId: string; userIdHint?: string | null }): Promise<BillingChange | null> {
  const { knex, plans, logger } = deps;
  return knex.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`stripe-customer:${args.customerId}`]);
    const snaps = (await listCustomerSubscriptions(deps.stripe, args.customerId)).map((s) => snapshotOf(s, plans));
    const snap = governing(snaps);
    const userId = await resolveUser(deps, trx, args.customerId, [args.userIdHint ?? null, snap?.userId ?? null]);
    if (!userId) {
      logger.warn({ customerId: args.customerId }, 'Stripe customer is not linked to any user; ignored');
      return null;
    }
    const user = await trx('users').where({ id: userId }).forUpdate().first('plan', 'quota_limit', 'quota_used');
    if (!user) return null;
    const row: SubscriptionRow | undefined = await trx('subscriptions').where({ user_id: userId }).forUpdate().first();
    if (row?.stripe_customer_id && row.stripe_customer_id !== args.customerId && !(snap && GRANTING.has(snap.status))) {
      // The user pays through another customer (e.g. one made by hand in the dashboard); an ended
      // subscription of this one must not take that plan away.
      logger.warn({ userId, customerId: args.customerId, linked: row.stripe_customer_id }, 'Stripe customer is not the linked one; ignored');
      return null;
    }
    const desired = desiredState(plans, args.customerId, row, snap);
    const changes = diffState(row, user, desired);
    if (changes.some((c) => c.field.startsWith('subscription.'))) {
      if (row)
        await trx('subscriptions')
          .where({ user_id: userId })
          .update({ ...desired.subscription, updated_at: trx.fn.now() });
      else await trx('subscriptions').insert({ user_id: userId, ...desired.subscription });
    }
    if (changes.some((c) => c.field.startsWith('user.'))) {
      const limit = desired.user.quota_limit;
      // A smaller plan never leaves more used than allowed (quota_used <= quota_limit holds).
      if (user.quota_used > limit) changes.push({ field: 'user.quota_used', from: user.quota_used, to: limit });
      await trx('users')
        .where({ id: userId })
        .update({ plan: desired.user.plan, quota_limit: limit, quota_used: trx.raw('LEAST(quota_used, ?)', [limit]), updated_at: trx.fn.now() });
    }
    if (changes.length) logger.info({ userId, customerId: args.customerId, changes }, 'billing state applied');
    return {
      userId,
      customerId: args.customerId,
      subscriptionId: desired.subscription.stripe_subscription_id,
      plan: desired.user.plan,
      status: desired.subscription.status,
      changes,
    };
  });
}

/**
 * Pages through every subscription in Stripe, compares each customer's governing one with our
 * rows and users, and repairs what drifted. Drift is only detected from the listing; each repair
 * re-reads the customer under its lock (syncCustomer), so a webhook applied meanwhile is not
 * overwritten by the older listing. Users without a Stripe customer (plans granted by hand) are
 * left alone.
 */
export async function reconcile(deps: BillingDeps, onProgress: (scanned: number) => void = () => {}): Promise<ReconcileReport> {
  const byCustomer = new Map<string, SubscriptionSnapshot[]>();
  let scanned = 0;
  for await (const sub of deps.stripe.subscriptions.list({ status: 'all', limit: 100 })) {
    const snap = snapshotOf(sub, deps.plans);
    byCustomer.set(snap.customerId, [...(byCustomer.get(snap.customerId) ?? []), snap]);
    if (++scanned % 100 === 0) onProgress(scanned);
  }

  const rows: Array<SubscriptionRow & { user_plan: User['plan']; user_quota_limit: number }> = await deps
    .knex('subscriptions as s')
    .join('users as u', 'u.id', 's.user_id')
    .whereNotNull('s.stripe_customer_id')
    .select('s.*', 'u.plan as user_plan', 'u.quota_limit as user_quota_limit');
  const rowOf = new Map(rows.map((r) => [r.stripe_customer_id!, r]));

  const customers = new Set([...byCustomer.keys(), ...rowOf.keys()]);
  const changes: BillingChange[] = [];
  const failures: ReconcileReport['failures'] = [];
  let repaired = 0;
  for (const customerId of customers) {
    onProgress(scanned);
    const snap = governing(byCustomer.get(customerId) ?? []);
    const row = rowOf.get(customerId);
    if (!row && !snap?.userId) continue; // not a customer of this product
    if (row) {
      const desired = desiredState(deps.plans, customerId, row, snap);
      if (diffState(row, { plan: row.user_plan, quota_limit: row.user_quota_limit }, desired).length === 0) continue;
    }
    let applied: BillingChange | null;
    try {
      applied = await syncCustomer(deps, { customerId, userIdHint: snap?.userId ?? null });
    } catch (err) {
      // An outage retries the whole pass; one customer Stripe refuses must not block the others.
      if (!isStripeError(err) || isTransientStripeError(err)) throw err;
      failures.push({ customerId, message: err.message });
      continue;
    }
    if (!applied?.changes.length) continue;
    repaired++;
    if (changes.length < 100) changes.push(applied);
  }
  return { scanned, customers: customers.size, repaired, changes, failures };
}
