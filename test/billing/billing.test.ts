import assert from 'node:assert/strict';
import { WorkflowNotFoundError } from '@temporalio/client';
import Stripe from 'stripe';
import type { BillingChange, ReconcileReport } from '../../src/billing/types';
import { stripeEventWorkflowId } from '../../src/services/billing';
import { call, registerUser } from '../helpers/api';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startFakeStripe, type FakeStripe } from '../fakes/stripeServer';

const WEBHOOK_SECRET = 'whsec_test_aimake_billing';
const PRO = 'price_test_pro';
const TEAM = 'price_test_team';

describe('billing: Stripe checkout, portal, webhooks as workflows, reconciliation', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let fake: FakeStripe;

  before(async () => {
    fake = await startFakeStripe();
    stack = await startTestStack({
      STRIPE_SECRET_KEY: fake.apiKey,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_PRICE_PRO: PRO,
      STRIPE_PRICE_TEAM: TEAM,
      STRIPE_API_BASE_URL: fake.url,
      BILLING_RETURN_URL: 'https://app.example.test/account',
    });
  });
  after(() => fake.close());
  beforeEach(() => fake.reset());

  const client = () => stack.temporal.client();

  /** Signs like Stripe does (the package's own test helper) and posts the exact bytes. */
  async function deliver(event: { id: string }, opts: { secret?: string; timestamp?: number; tamper?: (payload: string) => string } = {}) {
    const payload = JSON.stringify(event, null, 2);
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: opts.secret ?? WEBHOOK_SECRET, timestamp: opts.timestamp });
    const body = opts.tamper ? opts.tamper(payload) : payload;
    return call(stack.url, 'POST', '/v1/webhooks/stripe', {
      rawBody: body,
      headers: { 'stripe-signature': header, 'content-type': 'application/json; charset=utf-8' },
    });
  }

  /** Delivers an event and waits for its workflow to apply it. */
  async function apply(event: { id: string }): Promise<BillingChange | null> {
    const res = await deliver(event);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.handled, true);
    return (await client()).workflow.getHandle(stripeEventWorkflowId(event.id)).result();
  }

  const user = async (id: string) => {
    const u = await stack.knex('users').where({ id }).first();
    assert.ok(u);
    return u;
  };
  const row = (userId: string) => stack.knex('subscriptions').where({ user_id: userId }).first();
  const listCallsFor = (customer: string) =>
    fake.requests.filter((r) => r.method === 'GET' && r.path === '/v1/subscriptions' && r.query.customer === customer).length;

  /** A user who went through Checkout for `plan` and paid: Stripe holds an active subscription. */
  async function subscriber(label: string, plan: 'pro' | 'team' = 'pro') {
    const u = await registerUser(stack, label);
    const res = await call(stack.url, 'POST', '/v1/billing/checkout', { token: u.token, body: { plan } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const sessionId = res.body.url.split('/').pop();
    const session = fake.completeCheckout(sessionId);
    return { ...u, session, customer: session.customer as string, subscriptionId: session.subscription as string };
  }

  it('checkout and portal return Stripe URLs and reuse one customer', async () => {
    const { token, user: me, email } = await registerUser(stack, 'checkout');
    const early = await call(stack.url, 'POST', '/v1/billing/portal', { token });
    assert.equal(early.status, 409, 'no portal before a customer exists');
    assert.equal(early.body.error.code, 'CONFLICT');
    assert.equal((await call(stack.url, 'GET', '/v1/billing/subscription', { token })).body, null);

    const first = await call(stack.url, 'POST', '/v1/billing/checkout', { token, body: { plan: 'pro' } });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.ok(first.body.url.startsWith(`${fake.url}/c/pay/cs_test_`), first.body.url);
    const session = fake.checkoutSessions.get(first.body.url.split('/').pop())!;
    assert.equal(session.mode, 'subscription');
    assert.equal(session.client_reference_id, me.id);
    assert.equal(session.metadata.user_id, me.id);
    assert.equal(session.subscription_data.metadata.user_id, me.id);
    assert.deepEqual(session.line_items, [{ price: PRO, quantity: '1' }]);
    assert.equal(session.success_url, 'https://app.example.test/account?checkout=success&session_id={CHECKOUT_SESSION_ID}');
    assert.equal(fake.customers.get(session.customer).email, email);
    assert.equal(fake.customers.get(session.customer).metadata.user_id, me.id);

    const second = await call(stack.url, 'POST', '/v1/billing/checkout', { token, body: { plan: 'team' } });
    assert.equal(second.status, 200);
    const session2 = fake.checkoutSessions.get(second.body.url.split('/').pop())!;
    assert.equal(session2.customer, session.customer, 'the customer is reused');
    assert.deepEqual(session2.line_items, [{ price: TEAM, quantity: '1' }]);
    assert.equal(fake.count('POST', '/v1/customers'), 1);

    const r = await row(me.id);
    assert.ok(r);
    assert.equal(r.stripe_customer_id, session.customer);
    assert.equal(r.status, 'incomplete');
    assert.equal(r.stripe_subscription_id, null);
    assert.equal((await call(stack.url, 'GET', '/v1/billing/subscription', { token })).body, null, 'a customer alone is no subscription');

    const portal = await call(stack.url, 'POST', '/v1/billing/portal', { token });
    assert.equal(portal.status, 200, JSON.stringify(portal.body));
    assert.ok(portal.body.url.startsWith(`${fake.url}/p/session/bps_test_`));
    const portalRequest = fake.requests.find((q) => q.path === '/v1/billing_portal/sessions')!;
    assert.equal(portalRequest.body.customer, session.customer);
    assert.equal(portalRequest.body.return_url, 'https://app.example.test/account');

    assert.equal((await call(stack.url, 'POST', '/v1/billing/checkout', { token, body: { plan: 'enterprise' } })).status, 400);
    assert.equal((await call(stack.url, 'POST', '/v1/billing/checkout', { body: { plan: 'pro' } })).status, 401);

    // A portal link manages payment details: sessions only, never an API key.
    await stack.knex('users').where({ id: me.id }).update({ plan: 'team', quota_limit: 72_000 });
    const key = await call(stack.url, 'POST', '/v1/api-keys', { token, body: { name: 'billing', scopes: ['all'] } });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const viaKey = { headers: { 'x-api-key': key.body.key as string } };
    assert.equal((await call(stack.url, 'POST', '/v1/billing/portal', viaKey)).status, 403);
    assert.equal((await call(stack.url, 'POST', '/v1/billing/checkout', { ...viaKey, body: { plan: 'pro' } })).status, 403);
    assert.equal((await call(stack.url, 'GET', '/v1/billing/subscription', viaKey)).status, 200);

    // Concurrent first checkouts of another user still make one customer.
    const other = await registerUser(stack, 'checkout-race');
    const before = fake.count('POST', '/v1/customers');
    const all = await Promise.all([1, 2, 3].map(() => call(stack.url, 'POST', '/v1/billing/checkout', { token: other.token, body: { plan: 'pro' } })));
    assert.deepEqual(
      all.map((a) => a.status),
      [200, 200, 200],
    );
    assert.equal(fake.count('POST', '/v1/customers') - before, 1);
  });

  /** The Checkout sessions Stripe holds for a customer, by status. */
  const sessionsOf = (customer: string, status?: string) =>
    [...fake.checkoutSessions.values()].filter((cs) => cs.customer === customer && (!status || cs.status === status));
  const subscriptionsOf = (customer: string) => [...fake.subscriptions.values()].filter((sub) => sub.customer === customer);

  it('five concurrent checkouts of one user make one customer and reuse one open Checkout, so only one subscription can result', async () => {
    const { token } = await registerUser(stack, 'checkout-five');
    const all = await Promise.all([1, 2, 3, 4, 5].map(() => call(stack.url, 'POST', '/v1/billing/checkout', { token, body: { plan: 'pro' } })));
    assert.deepEqual(
      all.map((a) => a.status),
      [200, 200, 200, 200, 200],
      JSON.stringify(all.map((a) => a.body)),
    );
    assert.equal(fake.count('POST', '/v1/customers'), 1, 'one Stripe customer');
    assert.equal(new Set(all.map((a) => a.body.url)).size, 1, 'every answer is the same Checkout');
    const customer = fake.checkoutSessions.get(all[0]!.body.url.split('/').pop())!.customer as string;
    assert.equal(sessionsOf(customer, 'open').length, 1, 'one open Checkout');

    // The user pays every Checkout Stripe would still let them pay: one subscription at most.
    for (const cs of sessionsOf(customer)) if (cs.status === 'open') fake.completeCheckout(cs.id);
    assert.equal(subscriptionsOf(customer).length, 1);
  });

  it('a new checkout for another plan expires the open one, so two Checkouts can never both be paid', async () => {
    const { token } = await registerUser(stack, 'checkout-switch');
    const pro = await call(stack.url, 'POST', '/v1/billing/checkout', { token, body: { plan: 'pro' } });
    const proAgain = await call(stack.url, 'POST', '/v1/billing/checkout', { token, body: { plan: 'pro' } });
    assert.equal(proAgain.body.url, pro.body.url, 'the same plan again reuses the open Checkout');
    const team = await call(stack.url, 'POST', '/v1/billing/checkout', { token, body: { plan: 'team' } });
    assert.equal(team.status, 200, JSON.stringify(team.body));
    assert.notEqual(team.body.url, pro.body.url);
    const proSession = fake.checkoutSessions.get(pro.body.url.split('/').pop())!;
    assert.equal(proSession.status, 'expired');
    assert.throws(() => fake.completeCheckout(proSession.id), /expired/);
    assert.deepEqual(
      sessionsOf(proSession.customer, 'open').map((cs) => cs.id),
      [team.body.url.split('/').pop()],
    );

    // Paid, its webhook not applied yet: Stripe already holds the subscription, so no new Checkout.
    fake.completeCheckout(team.body.url.split('/').pop());
    const again = await call(stack.url, 'POST', '/v1/billing/checkout', { token, body: { plan: 'pro' } });
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.equal(again.body.error.code, 'CONFLICT');
    assert.equal(sessionsOf(proSession.customer, 'open').length, 0);
    assert.equal(subscriptionsOf(proSession.customer).length, 1);
  });

  it('keeps no database transaction or row lock open while Stripe answers slowly', async () => {
    const { token, user: me } = await registerUser(stack, 'checkout-slow');
    // A row from before Stripe was linked (a plan once granted by hand), so there is a row to lock.
    await stack.knex('subscriptions').insert({ user_id: me.id, plan: 'pro', status: 'canceled' });
    fake.faults.push({ path: '/v1/customers', delayMs: 1000 }, { path: '/v1/checkout/sessions', delayMs: 1000, times: 3 });
    const checkout = call(stack.url, 'POST', '/v1/billing/checkout', { token, body: { plan: 'pro' } });
    let done = false;
    void checkout.finally(() => (done = true));
    await eventually(async () => (fake.count('POST', '/v1/customers') > 0 ? true : undefined), 10_000, 'the customer request at Stripe');

    const samples: Array<{ idleInTransaction: number; lockError: string | null }> = [];
    while (!done) {
      const { rows } = await stack.knex.raw(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'",
      );
      let lockError: string | null = null;
      // The user's subscriptions row, if any, can be written at once: nobody holds it locked.
      await stack.knex
        .transaction(async (trx) => {
          await trx.raw("SET LOCAL lock_timeout = '200ms'");
          await trx('subscriptions').where({ user_id: me.id }).update({ updated_at: trx.fn.now() });
        })
        .catch((err: Error) => (lockError = err.message));
      if (!done) samples.push({ idleInTransaction: rows[0].n, lockError });
      await new Promise((r) => setTimeout(r, 50));
    }
    const res = await checkout;
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(samples.length >= 5, `sampled while Stripe was answering (${samples.length})`);
    assert.deepEqual(
      samples.filter((x) => x.idleInTransaction > 0 || x.lockError),
      [],
      'no connection idle in transaction, no lock held, during the Stripe calls',
    );
  });

  it('a checkout left half-way by a process that died does not block the next one', async () => {
    const { token, user: me } = await registerUser(stack, 'checkout-stale-claim');
    await stack.knex('checkout_claims').insert({ user_id: me.id, token: crypto.randomUUID(), expires_at: new Date(Date.now() - 1000) });
    const res = await call(stack.url, 'POST', '/v1/billing/checkout', { token, body: { plan: 'pro' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(await stack.knex('checkout_claims').where({ user_id: me.id }).first(), undefined, 'the claim is released');
  });

  it('answers 503 when Stripe is down, and nothing is half-made', async () => {
    const { token, user: me } = await registerUser(stack, 'stripe-down');
    fake.faults.push({ path: '/v1/customers', status: 500, body: { error: { type: 'api_error', message: 'boom' } }, times: 2 });
    const res = await call(stack.url, 'POST', '/v1/billing/checkout', { token, body: { plan: 'pro' } });
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'UNAVAILABLE');
    assert.equal(await row(me.id), undefined);
    fake.faults.clear();
    const again = await call(stack.url, 'POST', '/v1/billing/checkout', { token, body: { plan: 'pro' } });
    assert.equal(again.status, 200);
  });

  it('moves plan and quota through a lifecycle: created, team, payment failed, canceling, deleted', async () => {
    const s = await subscriber('lifecycle', 'pro');
    const completed = await apply(fake.event('checkout.session.completed', s.session));
    assert.equal(completed?.plan, 'pro');
    let u = await user(s.user.id);
    assert.equal(u.plan, 'pro');
    assert.equal(u.quota_limit, 18_000);
    const view = (await call(stack.url, 'GET', '/v1/billing/subscription', { token: s.token })).body;
    assert.equal(view.plan, 'pro');
    assert.equal(view.status, 'active');
    assert.equal(view.active, true);
    const sub = fake.subscriptions.get(s.subscriptionId);
    assert.equal(view.currentPeriodEnd, new Date(sub.items.data[0].current_period_end * 1000).toISOString());
    assert.equal((await call(stack.url, 'POST', '/v1/billing/checkout', { token: s.token, body: { plan: 'team' } })).status, 409, 'no second subscription');

    await apply(fake.event('customer.subscription.created', sub));
    u = await user(s.user.id);
    assert.equal(u.plan, 'pro', 'the created event changes nothing already applied');

    const team = fake.updateSubscription(s.subscriptionId, { price: TEAM });
    await apply(fake.event('customer.subscription.updated', team));
    u = await user(s.user.id);
    assert.equal(u.plan, 'team');
    assert.equal(u.quota_limit, 72_000);
    assert.equal((await row(s.user.id))!.stripe_price_id, TEAM);
    await stack.knex('users').where({ id: s.user.id }).update({ quota_used: 20_000 });

    fake.updateSubscription(s.subscriptionId, { status: 'past_due' });
    await apply(fake.event('invoice.payment_failed', { id: 'in_test_failed', object: 'invoice', customer: s.customer, status: 'open' }));
    u = await user(s.user.id);
    assert.equal(u.plan, 'team', 'past_due keeps the plan while Stripe retries');
    assert.equal((await row(s.user.id))!.status, 'past_due');
    const pastDue = (await call(stack.url, 'GET', '/v1/billing/subscription', { token: s.token })).body;
    assert.equal(pastDue.status, 'past_due');
    assert.equal(pastDue.active, true);

    const canceling = fake.updateSubscription(s.subscriptionId, { status: 'active', cancelAtPeriodEnd: true });
    await apply(fake.event('invoice.paid', { id: 'in_test_paid', object: 'invoice', customer: s.customer, status: 'paid' }));
    u = await user(s.user.id);
    assert.equal(u.plan, 'team', 'cancel_at_period_end keeps the plan until the period ends');
    const r = await row(s.user.id);
    assert.ok(r);
    assert.equal(r.status, 'active');
    assert.equal(r.cancel_at!.toISOString(), new Date(canceling.items.data[0].current_period_end * 1000).toISOString());

    const ended = fake.cancelSubscription(s.subscriptionId);
    const change = await apply(fake.event('customer.subscription.deleted', ended));
    assert.ok(
      change?.changes.some((c) => c.field === 'user.plan' && c.from === 'team' && c.to === 'free'),
      JSON.stringify(change),
    );
    u = await user(s.user.id);
    assert.equal(u.plan, 'free');
    assert.equal(u.quota_limit, 600);
    assert.equal(u.quota_used, 600, 'used never exceeds the smaller limit');
    const gone = (await call(stack.url, 'GET', '/v1/billing/subscription', { token: s.token })).body;
    assert.equal(gone.status, 'canceled');
    assert.equal(gone.active, false);
    assert.ok(gone.canceledAt);

    const customers = fake.count('POST', '/v1/customers');
    assert.equal((await call(stack.url, 'POST', '/v1/billing/checkout', { token: s.token, body: { plan: 'pro' } })).status, 200, 'can subscribe again');
    assert.equal(fake.count('POST', '/v1/customers'), customers, 'with the same customer');
  });

  it('applies a re-delivered event once', async () => {
    const s = await subscriber('redelivery', 'team');
    const event = fake.event('checkout.session.completed', s.session);
    // Stripe may send the same event again, even at the same time.
    const [a, b] = await Promise.all([deliver(event), deliver(event)]);
    assert.deepEqual([a.status, b.status], [200, 200]);
    await (await client()).workflow.getHandle(stripeEventWorkflowId(event.id)).result();
    assert.equal((await user(s.user.id)).plan, 'team');
    const updatedAt = (await row(s.user.id))!.updated_at.getTime();
    assert.equal(listCallsFor(s.customer), 1, 'one run read Stripe once');

    const late = await deliver(event);
    assert.equal(late.status, 200, 'a delivery after the run closed is acknowledged');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(listCallsFor(s.customer), 1, 'and starts nothing');
    assert.equal((await row(s.user.id))!.updated_at.getTime(), updatedAt);
    const runs = (await client()).workflow.list({ query: `WorkflowId = '${stripeEventWorkflowId(event.id)}'` });
    let n = 0;
    for await (const _ of runs) n++;
    assert.ok(n <= 1, `one run (${n})`);
  });

  it('ends in the right state whatever order events arrive in', async () => {
    const s = await subscriber('reorder', 'pro');
    const created = fake.event('customer.subscription.created', fake.subscriptions.get(s.subscriptionId));
    const upgraded = fake.event('customer.subscription.updated', fake.updateSubscription(s.subscriptionId, { price: TEAM }));
    await apply(upgraded);
    await apply(created); // older, says pro: Stripe says team now
    assert.equal((await user(s.user.id)).plan, 'team');

    const deleted = fake.event('customer.subscription.deleted', fake.cancelSubscription(s.subscriptionId));
    const completed = fake.event('checkout.session.completed', s.session);
    await apply(deleted);
    await apply(completed); // the very first event, delivered last
    const u = await user(s.user.id);
    assert.equal(u.plan, 'free');
    assert.equal(u.quota_limit, 600);
    assert.equal((await row(s.user.id))!.status, 'canceled');
  });

  it('refuses forged, stale and tampered signatures with 400 and records nothing', async () => {
    const s = await subscriber('forged', 'team');
    const event = fake.event('checkout.session.completed', s.session);
    const attempts = [
      await deliver(event, { secret: 'whsec_someone_else' }),
      await deliver(event, { timestamp: Math.floor(Date.now() / 1000) - 400 }),
      await deliver(event, { tamper: (p) => p.replace(s.user.id, '00000000-0000-4000-8000-000000000000') }),
      await call(stack.url, 'POST', '/v1/webhooks/stripe', { rawBody: JSON.stringify(event) }),
    ];
    for (const res of attempts) {
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'VALIDATION_FAILED');
    }
    await assert.rejects((await client()).workflow.getHandle(stripeEventWorkflowId(event.id)).describe(), WorkflowNotFoundError);
    assert.equal(listCallsFor(s.customer), 0);
    assert.equal((await user(s.user.id)).plan, 'free');
    assert.equal((await row(s.user.id))!.status, 'incomplete');

    const other = await deliver(fake.event('customer.created', { id: s.customer, object: 'customer' }));
    assert.equal(other.status, 200);
    assert.equal(other.body.handled, false, 'events that cannot change a plan are acknowledged and ignored');
  });

  it('reconciliation repairs corrupted rows and reports what it changed', async () => {
    const a = await subscriber('drift-a', 'team');
    await apply(fake.event('checkout.session.completed', a.session));
    const b = await subscriber('drift-b', 'pro');
    await apply(fake.event('checkout.session.completed', b.session));
    // c paid but its webhook never arrived.
    const c = await subscriber('drift-c', 'pro');

    await stack.knex('users').where({ id: a.user.id }).update({ plan: 'free', quota_limit: 600 });
    await stack.knex('subscriptions').where({ user_id: b.user.id }).update({ status: 'canceled', plan: 'team' });

    const report: ReconcileReport = await (
      await client()
    ).workflow.execute('reconcileBillingWorkflow', {
      taskQueue: stack.taskQueue,
      workflowId: `reconcile-test-${Date.now()}`,
    });
    const byUser = new Map(report.changes.map((ch) => [ch.userId, ch]));
    assert.ok(report.scanned >= 3);
    assert.deepEqual(
      byUser
        .get(a.user.id)
        ?.changes.map((ch) => ch.field)
        .sort(),
      ['user.plan', 'user.quota_limit'],
      JSON.stringify(report),
    );
    assert.deepEqual(
      byUser
        .get(b.user.id)
        ?.changes.map((ch) => ch.field)
        .sort(),
      ['subscription.plan', 'subscription.status'],
    );
    assert.ok(byUser.get(c.user.id)?.changes.some((ch) => ch.field === 'user.plan' && ch.to === 'pro'));
    assert.equal((await user(a.user.id)).plan, 'team');
    assert.equal((await user(a.user.id)).quota_limit, 72_000);
    assert.equal((await row(b.user.id))!.status, 'active');
    assert.equal((await row(b.user.id))!.plan, 'pro');
    assert.equal((await user(c.user.id)).plan, 'pro');

    const again: ReconcileReport = await (
      await client()
    ).workflow.execute('reconcileBillingWorkflow', {
      taskQueue: stack.taskQueue,
      workflowId: `reconcile-test-again-${Date.now()}`,
    });
    assert.ok(!again.changes.some((ch) => [a.user.id, b.user.id, c.user.id].includes(ch.userId)), 'nothing left to repair');
  });

  it('refuses billing where Stripe is not configured', async () => {
    const bare = await startTestStack({}, { worker: false });
    const { token } = await registerUser(bare, 'no-billing');
    const checkout = await call(bare.url, 'POST', '/v1/billing/checkout', { token, body: { plan: 'pro' } });
    assert.equal(checkout.status, 403, JSON.stringify(checkout.body));
    assert.equal((await call(bare.url, 'POST', '/v1/billing/portal', { token })).status, 403);
    assert.equal((await call(bare.url, 'GET', '/v1/billing/subscription', { token })).body, null);
    const hook = await call(bare.url, 'POST', '/v1/webhooks/stripe', { rawBody: '{}', headers: { 'stripe-signature': 't=1,v1=x' } });
    assert.equal(hook.status, 503, 'Stripe retries until the secret is configured');
  });

  it('pages through many subscriptions', async () => {
    const before = fake.subscriptions.size;
    for (let i = 0; i < 230; i++) fake.setSubscription({ customer: `cus_test_foreign_${i}`, price: PRO, created: 1_700_000_000 + i });
    const report: ReconcileReport = await (
      await client()
    ).workflow.execute('reconcileBillingWorkflow', {
      taskQueue: stack.taskQueue,
      workflowId: `reconcile-test-pages-${Date.now()}`,
    });
    assert.equal(report.scanned, before + 230);
    assert.ok(fake.count('GET', '/v1/subscriptions') >= 3, 'three or more pages of 100');
    assert.ok(!report.changes.some((ch) => ch.customerId.startsWith('cus_test_foreign_')), "other products' customers are left alone");
  });
});
