import assert from 'node:assert/strict';
import { WorkflowNotFoundError } from '@temporalio/client';
import Stripe from 'stripe';
import type { BillingChange, ReconcileReport } from '../../src/billing/types';
import { stripeEventWorkflowId } from '../../src/services/billing';
import { call, registerUser } from '../helpers/api';
import { startTestStack, type TestStack } from '../helpers/stack';
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
