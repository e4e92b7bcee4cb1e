import type { Knex } from 'knex';

/**
 * Usage for one calendar month (UTC): totals from the monthly_usage view and per-day rows as seed
 * query 3.4 computes them, bounded to the month asked for rather than only the current one.
 */
export async function monthlyUsage(knex: Knex, userId: string, month: string) {
  const start = `${month}-01T00:00:00Z`;
  const totals = await knex('monthly_usage')
    .where({ user_id: userId })
    .andWhere('month', knex.raw(`DATE_TRUNC('month', ?::timestamptz)`, [start]))
    .first('total_requests', 'total_duration', 'total_chars', 'total_cost');
  const days = await knex('usage_logs')
    .where({ user_id: userId })
    .andWhere('created_at', '>=', knex.raw('?::timestamptz', [start]))
    .andWhere('created_at', '<', knex.raw(`?::timestamptz + INTERVAL '1 month'`, [start]))
    .groupByRaw('DATE(created_at)')
    .orderBy('date')
    .select(
      knex.raw(`to_char(DATE(created_at), 'YYYY-MM-DD') AS date`),
      knex.raw('COUNT(*)::int AS requests'),
      knex.raw('SUM(duration_used) AS total_duration'),
      knex.raw('SUM(chars_used)::int AS total_chars'),
    );
  return {
    month,
    totals: {
      requests: Number(totals?.total_requests ?? 0),
      duration: Number(totals?.total_duration ?? 0),
      chars: Number(totals?.total_chars ?? 0),
      cost: Number(totals?.total_cost ?? 0),
    },
    days: days.map((d: any) => ({ date: d.date, requests: d.requests, duration: Number(d.total_duration), chars: d.total_chars })),
  };
}
