import type { Config } from '../config';

/**
 * The plans, in one place: what each grants per month and which Stripe price sells it. Free is
 * 600 s because that is the seed's column default every new account starts with; the paid
 * quotas and the price ids come from configuration.
 */
export type Plan = 'free' | 'pro' | 'team';
export type PaidPlan = Exclude<Plan, 'free'>;

export const PAID_PLANS: readonly PaidPlan[] = ['pro', 'team'];
export const FREE_QUOTA_SEC = 600;

export interface Plans {
  quotaFor(plan: Plan): number;
  /** The Stripe price that sells a paid plan, or null when none is configured. */
  priceFor(plan: PaidPlan): string | null;
  /** The paid plan a Stripe price sells, or null for a price that is not ours. */
  planForPrice(priceId: string | null | undefined): PaidPlan | null;
}

export function plansFromConfig(config: Pick<Config, 'QUOTA_PRO_SEC' | 'QUOTA_TEAM_SEC' | 'STRIPE_PRICE_PRO' | 'STRIPE_PRICE_TEAM'>): Plans {
  const quota: Record<Plan, number> = { free: FREE_QUOTA_SEC, pro: config.QUOTA_PRO_SEC, team: config.QUOTA_TEAM_SEC };
  const price: Record<PaidPlan, string | null> = { pro: config.STRIPE_PRICE_PRO ?? null, team: config.STRIPE_PRICE_TEAM ?? null };
  return {
    quotaFor: (plan) => quota[plan],
    priceFor: (plan) => price[plan],
    planForPrice: (priceId) => (priceId ? (PAID_PLANS.find((p) => price[p] === priceId) ?? null) : null),
  };
}
