import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import { z } from 'zod';
import type { BillingService } from '../../services/billing';
import type { AuthContext } from '../route';
import { AppError, forbidden } from '../../errors';
import { route } from '../route';

export const STRIPE_WEBHOOK_PATH = '/v1/webhooks/stripe';

const UrlSchema = z.object({ url: z.string() });
const SubscriptionSchema = z.object({
  id: z.uuid(),
  plan: z.enum(['pro', 'team']),
  status: z.string(),
  active: z.boolean(),
  currentPeriodStart: z.string().nullable(),
  currentPeriodEnd: z.string().nullable(),
  cancelAt: z.string().nullable(),
  canceledAt: z.string().nullable(),
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
});

/**
 * Stripe signs the exact bytes it sends, so the webhook must see them before any parser does:
 * this middleware, used ahead of the body parser, keeps the parser off the webhook's path.
 */
export function keepRawBody(path = STRIPE_WEBHOOK_PATH): Middleware {
  return async (ctx, next) => {
    if (ctx.path === path) (ctx as { disableBodyParser?: boolean }).disableBodyParser = true;
    await next();
  };
}

async function readRawBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new AppError('PAYLOAD_TOO_LARGE', 'Request body is too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A portal link manages the account's payment details: a leaked API key must not be able to make one. */
function signedIn(auth: AuthContext | null): AuthContext {
  if (auth?.via !== 'session') throw forbidden('Billing is managed from a signed-in session, not with an API key');
  return auth;
}

export function billingRoutes(deps: { billing: BillingService; maxBodyBytes: number }) {
  const { billing } = deps;
  return [
    route({
      method: 'post',
      path: '/v1/billing/checkout',
      operationId: 'createCheckoutSession',
      tag: 'billing',
      summary: 'Start a Stripe Checkout session for a paid plan',
      auth: 'required',
      body: z.strictObject({ plan: z.enum(['pro', 'team']) }),
      responses: { 200: { description: 'Where to send the user to pay', schema: UrlSchema } },
      handler: async (ctx, { body, auth }) => {
        ctx.body = await billing.checkout(signedIn(auth).user, body.plan);
      },
    }),
    route({
      method: 'post',
      path: '/v1/billing/portal',
      operationId: 'createPortalSession',
      tag: 'billing',
      summary: 'Open the Stripe customer portal (409 before the first checkout)',
      auth: 'required',
      responses: { 200: { description: 'Where to send the user to manage billing', schema: UrlSchema } },
      handler: async (ctx, { auth }) => {
        ctx.body = await billing.portal(signedIn(auth).user);
      },
    }),
    route({
      method: 'get',
      path: '/v1/billing/subscription',
      operationId: 'getSubscription',
      tag: 'billing',
      summary: "The caller's subscription, or null",
      auth: 'required',
      responses: { 200: { description: 'The subscription', schema: SubscriptionSchema.nullable() } },
      handler: async (ctx, { auth }) => {
        // Koa turns a null body into 204; the contract says the JSON value null.
        ctx.type = 'application/json';
        ctx.body = JSON.stringify(await billing.subscription(auth!.user));
      },
    }),
    route({
      method: 'post',
      path: STRIPE_WEBHOOK_PATH,
      operationId: 'receiveStripeEvent',
      tag: 'billing',
      summary: 'Stripe webhook: verified on the raw body, applied once per event id (400 on a bad signature)',
      auth: 'none',
      responses: { 200: { description: 'Verified and recorded', schema: z.object({ received: z.literal(true), handled: z.boolean() }) } },
      handler: async (ctx) => {
        const raw = await readRawBody(ctx.req, deps.maxBodyBytes);
        ctx.body = await billing.receiveWebhook(raw, ctx.get('stripe-signature') || undefined);
      },
    }),
  ];
}
