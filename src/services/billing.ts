import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { Knex } from 'knex';
import type { stripeEventWorkflow } from '../../workflows/billing';
import { AppError, conflict, forbidden } from '../errors';
import { plansFromConfig, type PaidPlan, type Plans } from '../billing/plans';
import { createStripe, idOf, isStripeError, isTransientStripeError, Stripe } from '../billing/stripe';
import type { StripeEventInput } from '../billing/types';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Subscription, User } from '../models';
import type { TemporalGateway } from '../temporal/client';
import { JobKindKey, UserIdKey } from '../temporal/searchAttributes';

/** The events that can change a customer's plan; anything else is acknowledged and ignored. */
export const STRIPE_EVENTS = new Set([
  'checkout.session.completed',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'invoice.paid',
  'invoice.payment_failed',
]);

/** One run per Stripe event id: a re-delivered event finds its run and starts nothing new. */
export const stripeEventWorkflowId = (eventId: string) => `stripe-event-${eventId}`;

const LIVE = new Set(['active', 'trialing', 'past_due']);
// An open Checkout closer to its expiry than this is replaced rather than handed out again.
const REUSE_MIN_LEFT_SEC = 15 * 60;
const CLAIM_POLL_MS = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function startStripeEventRun(client: Client, config: Config, input: StripeEventInput) {
  return client.workflow.start<typeof stripeEventWorkflow>('stripeEventWorkflow', {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowId: stripeEventWorkflowId(input.eventId),
    // Running: the same run answers; closed: REJECT_DUPLICATE refuses a second one.
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    args: [input],
    memo: { eventType: input.type, customerId: input.customerId },
    typedSearchAttributes: new TypedSearchAttributes([
      { key: JobKindKey, value: 'billing' },
      ...(input.userIdHint && UUID.test(input.userIdHint) ? [{ key: UserIdKey, value: input.userIdHint }] : []),
    ]),
  });
}

export function subscriptionView(row: Record<string, any>) {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: row.id as string,
    plan: row.plan as PaidPlan,
    status: row.status as string,
    // Whether the plan is in force now (past_due keeps it while Stripe retries the payment).
    active: LIVE.has(row.status),
    currentPeriodStart: iso(row.current_period_start),
    currentPeriodEnd: iso(row.current_period_end),
    cancelAt: iso(row.cancel_at),
    canceledAt: iso(row.canceled_at),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** What the API does for billing: Checkout, the portal, the caller's subscription, webhooks. */
export class BillingService {
  private readonly stripe: Stripe | null;
  private readonly plans: Plans;

  constructor(
    private readonly knex: Knex,
    private readonly temporal: TemporalGateway,
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    // The SDK retries a failed request once with its own idempotency key; customers get ours.
    this.stripe = createStripe(config, { maxNetworkRetries: 1 });
    this.plans = plansFromConfig(config);
  }

  // Billing switched off (no STRIPE_SECRET_KEY) is a permanent refusal, not an outage to retry.
  private client(): Stripe {
    if (!this.stripe) throw forbidden('Billing is not enabled on this server');
    return this.stripe;
  }

  private async stripeCall<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (isTransientStripeError(err)) throw new AppError('UNAVAILABLE', 'The payment provider is unavailable; try again shortly');
      throw err;
    }
  }

  /**
   * A Checkout session (subscription mode) for a paid plan.
   *
   * Two Checkouts open at once could both be paid, making two subscriptions. So a user has at most
   * one open Checkout: preparing one takes the user's claim (a lease row taken with one conditional
   * statement, see claimCheckout), and under it an open Checkout for the same price is handed out
   * again while any other is expired first (Stripe refuses to expire a paid one, and a paid one
   * means a subscription). Concurrent requests wait for the claim and then find that Checkout.
   * No transaction or row lock is ever held across a Stripe call: a slow Stripe costs no
   * PostgreSQL connection.
   */
  async checkout(user: User, plan: PaidPlan): Promise<{ url: string }> {
    const stripe = this.client();
    const price = this.plans.priceFor(plan);
    if (!price) throw forbidden(`The ${plan} plan is not for sale on this server (no Stripe price configured)`);
    refuseIfSubscribed(await this.knex('subscriptions').where({ user_id: user.id }).first());
    const claim = await this.claimCheckout(user.id);
    try {
      // Read again under the claim: the checkout before ours may have linked the customer.
      const row = await this.knex('subscriptions').where({ user_id: user.id }).first();
      refuseIfSubscribed(row);
      let customer = row?.stripe_customer_id;
      if (customer) {
        // Paid but its webhook not applied yet: Stripe already holds the subscription.
        await claim.renew();
        const subs = await this.stripeCall(() => stripe.subscriptions.list({ customer: customer!, limit: 100 }));
        const live = subs.data.find((sub) => LIVE.has(sub.status));
        if (live) throw alreadySubscribed({ status: live.status });
      } else {
        await claim.renew();
        customer = await this.createCustomer(user, plan);
      }

      await claim.renew();
      const open = await this.stripeCall(() => stripe.checkout.sessions.list({ customer: customer!, status: 'open', limit: 100 }));
      const fresh = Date.now() / 1000 + REUSE_MIN_LEFT_SEC;
      const reusable = open.data.find((cs) => cs.metadata?.price === price && cs.url && cs.expires_at > fresh);
      for (const cs of open.data) {
        if (cs === reusable) continue;
        await claim.renew();
        await this.expireCheckout(cs.id);
      }
      if (reusable) return { url: reusable.url! };

      await claim.renew();
      const back = this.returnUrl();
      const session = await this.stripeCall(() =>
        stripe.checkout.sessions.create({
          mode: 'subscription',
          customer,
          client_reference_id: user.id,
          metadata: { user_id: user.id, plan, price },
          line_items: [{ price, quantity: 1 }],
          // Carried by the subscription itself, so its events name the user even without our link.
          subscription_data: { metadata: { user_id: user.id } },
          success_url: withQuery(back, 'checkout=success&session_id={CHECKOUT_SESSION_ID}'),
          cancel_url: withQuery(back, 'checkout=canceled'),
        }),
      );
      if (!session.url) throw new Error(`Stripe returned checkout session ${session.id} without a URL`);
      return { url: session.url };
    } finally {
      await claim.release();
    }
  }

  /** The customer portal, where subscribers change plan, card or cancel. */
  async portal(user: User): Promise<{ url: string }> {
    const stripe = this.client();
    const row = await this.knex('subscriptions').where({ user_id: user.id }).first();
    const customer = row?.stripe_customer_id;
    if (!customer) throw conflict('No billing account yet: subscribe through checkout first');
    const session = await this.stripeCall(() => stripe.billingPortal.sessions.create({ customer, return_url: this.returnUrl() }));
    return { url: session.url };
  }

  /** The caller's subscription, or null before the first one (a customer alone is not one). */
  async subscription(user: User) {
    const row = await this.knex('subscriptions').where({ user_id: user.id }).whereNotNull('stripe_subscription_id').first();
    return row ? subscriptionView(row) : null;
  }

  /**
   * Verifies a webhook on the exact bytes Stripe sent, then records it by starting its workflow.
   * The work happens there, so Stripe gets its 2xx at once; a failure to record is a 503, which
   * Stripe retries.
   */
  async receiveWebhook(raw: Buffer, signature: string | undefined): Promise<{ received: true; handled: boolean }> {
    const secret = this.config.STRIPE_WEBHOOK_SECRET;
    if (!secret) throw new AppError('UNAVAILABLE', 'Stripe webhooks are not configured on this server');
    let event: Stripe.Event;
    try {
      event = Stripe.webhooks.constructEvent(raw, signature ?? '', secret);
    } catch {
      throw new AppError('VALIDATION_FAILED', 'Invalid Stripe signature', { fields: [{ field: 'header.Stripe-Signature', message: 'invalid or too old' }] });
    }
    if (!STRIPE_EVENTS.has(event.type)) return { received: true, handled: false };
    const object = event.data.object as {
      customer?: string | { id: string } | null;
      client_reference_id?: string | null;
      metadata?: Record<string, string> | null;
    };
    const customerId = idOf(object.customer);
    if (!customerId) return { received: true, handled: false };
    const input: StripeEventInput = {
      eventId: event.id,
      type: event.type,
      customerId,
      userIdHint: object.client_reference_id ?? object.metadata?.user_id ?? null,
    };
    try {
      await startStripeEventRun(await this.temporal.client(), this.config, input);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
        this.logger.error({ err, eventId: event.id }, 'could not record a Stripe event');
        throw new AppError('UNAVAILABLE', 'The event could not be recorded; retry later');
      }
      // Already applied by an earlier delivery.
    }
    return { received: true, handled: true };
  }

  /**
   * Takes the user's checkout claim, waiting while another request holds it. The claim is a
   * lease, renewed before each Stripe call for as long as one call may take (the SDK's timeout,
   * twice for its one retry), so a holder that died frees it soon and a live holder keeps it.
   */
  private async claimCheckout(userId: string) {
    const leaseMs = 2 * this.config.STRIPE_TIMEOUT_MS + 5_000;
    const token = randomUUID();
    const until = () => this.knex.raw('now() + make_interval(secs => ?)', [leaseMs / 1000]);
    const deadline = Date.now() + leaseMs;
    for (;;) {
      const taken = await this.knex('checkout_claims')
        .insert({ user_id: userId, token, expires_at: until() })
        .onConflict('user_id')
        .merge(['token', 'expires_at'])
        .where('checkout_claims.expires_at', '<', this.knex.fn.now())
        .returning('token');
      if (taken.length) break;
      if (Date.now() > deadline) throw conflict('Another checkout of yours is still being prepared; try again shortly');
      await sleep(CLAIM_POLL_MS);
    }
    const mine = () => this.knex('checkout_claims').where({ user_id: userId, token });
    return {
      renew: async () => {
        // A lease that ran out may be someone else's now: stop before touching Stripe.
        if (!(await mine().update({ expires_at: until() }))) throw conflict('Another checkout of yours is being prepared; try again shortly');
      },
      release: async () => {
        await mine().delete();
      },
    };
  }

  /**
   * A Stripe customer for the user, linked in the subscriptions row (status 'incomplete' until the
   * first subscription). Called under the checkout claim, so once per user; the idempotency key
   * still returns the same customer when a request is retried after Stripe made it but before the
   * link was saved (Stripe keeps keys for 24 hours).
   */
  private async createCustomer(user: User, plan: PaidPlan): Promise<string> {
    const customer = await this.stripeCall(() =>
      this.client().customers.create(
        { email: user.email, ...(user.name ? { name: user.name } : {}), metadata: { user_id: user.id } },
        { idempotencyKey: `aimake-customer-${user.id}` },
      ),
    );
    await this.knex('subscriptions')
      .insert({ user_id: user.id, plan, status: 'incomplete', stripe_customer_id: customer.id })
      .onConflict('user_id')
      .merge({ stripe_customer_id: customer.id, updated_at: this.knex.fn.now() })
      .whereNull('subscriptions.stripe_customer_id');
    const row = await this.knex('subscriptions').where({ user_id: user.id }).first('stripe_customer_id');
    return row?.stripe_customer_id ?? customer.id;
  }

  /** Expires an open Checkout; one paid meanwhile cannot be expired and means a subscription exists. */
  private async expireCheckout(id: string): Promise<void> {
    const stripe = this.client();
    try {
      await this.stripeCall(() => stripe.checkout.sessions.expire(id));
    } catch (err) {
      if (!isStripeError(err) || isTransientStripeError(err)) throw err;
      const cs = await this.stripeCall(() => stripe.checkout.sessions.retrieve(id));
      if (cs.status === 'complete') throw conflict('A checkout of yours was just paid: your subscription is being set up');
      if (cs.status !== 'expired') throw err;
    }
  }

  private returnUrl(): string {
    return this.config.BILLING_RETURN_URL ?? this.config.PUBLIC_URL ?? `http://${this.config.HOST}:${this.config.PORT}/`;
  }
}

const alreadySubscribed = (details: Record<string, unknown>) => conflict('You already have a subscription: change or cancel it in the billing portal', details);

function refuseIfSubscribed(row: Subscription | undefined): void {
  if (row?.stripe_subscription_id && LIVE.has(row.status)) throw alreadySubscribed({ plan: row.plan, status: row.status });
}

function withQuery(url: string, query: string): string {
  return url + (url.includes('?') ? '&' : '?') + query;
}
