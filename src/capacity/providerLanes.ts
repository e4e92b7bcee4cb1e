import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Config } from '../config';
import { JobChanges } from '../jobs/jobChanges';
import type { Logger } from '../logger';

/**
 * Provider capacity, shared by every worker process through PostgreSQL. A line claims a slot of
 * its provider's lane before it speaks and gives it back after; at most `cap` slots of a provider
 * are held at once, whatever the number of workers. Free slots go to waiting lines in a fair
 * order: every user's first job before anyone's second (one user's ten podcasts cannot starve
 * another user's first), then the oldest job, then the oldest claim; so jobs finish one after
 * another instead of all at the end. Whoever frees a slot grants it, under the lane's advisory lock, and wakes the grantee
 * with NOTIFY, so waiting costs nothing but an occasional renewal. Claims are renewed while
 * their line lives and expire otherwise: a worker killed while holding capacity loses it within
 * `ttlMs`. A 429 pauses the whole lane until its Retry-After.
 */
export const CAPACITY_GRANTED = 'provider_capacity_granted';

export interface LaneTicket {
  userId: string;
  jobId: string | null;
  jobCreatedAt: Date;
}

export interface LaneOptions {
  /** Slots per provider across all workers; a provider not named here is not capped. */
  caps: Record<string, number>;
  /** How long an unrenewed claim lives (a dead worker's capacity returns after this). */
  ttlMs: number;
}

type Db = Knex | Knex.Transaction;

/**
 * Every transaction that changes a lane's claims takes the lane's lock first: a grant updates
 * other lines' claims, so taking it after touching one's own claim could deadlock.
 */
const lockLane = (trx: Knex.Transaction, provider: string) => trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`provider-lane:${provider}`]);

export class ProviderLanes {
  constructor(
    private readonly knex: Knex,
    /** Wakes a waiting claim when it is granted (channel CAPACITY_GRANTED, payload: the claim id). */
    private readonly grants: JobChanges,
    private readonly opts: LaneOptions,
  ) {}

  capOf(provider: string): number | undefined {
    return this.opts.caps[provider];
  }

  /**
   * Runs `work` holding one slot of `provider`. Waiting is not a failure: it lasts as long as it
   * must, calling `onWait` (an activity heartbeat) while it waits, until `signal` aborts.
   */
  async run<T>(provider: string, ticket: LaneTicket, work: () => Promise<T>, hooks: { signal?: AbortSignal; onWait?: () => void } = {}): Promise<T> {
    const cap = this.capOf(provider);
    if (!cap) return work();
    const id = crypto.randomUUID();
    try {
      await this.waitForGrant(provider, cap, id, ticket, hooks);
    } catch (err) {
      await this.release(provider, cap, id);
      throw err;
    }
    const renew = setInterval(() => void this.renew(id).catch(() => undefined), this.opts.ttlMs / 3);
    try {
      return await work();
    } finally {
      clearInterval(renew);
      await this.release(provider, cap, id);
    }
  }

  /** After a 429: no line of this provider starts until `ms` from now (the later pause wins). */
  async pause(provider: string, ms: number): Promise<void> {
    await this.knex.raw(
      `INSERT INTO provider_lanes (provider, paused_until) VALUES (?, NOW() + make_interval(secs => ?))
       ON CONFLICT (provider) DO UPDATE SET paused_until = GREATEST(provider_lanes.paused_until, EXCLUDED.paused_until)`,
      [provider, ms / 1000],
    );
  }

  /** Slots held now (operators, tests). */
  async held(provider: string): Promise<number> {
    const [row] = await this.knex('provider_capacity')
      .where({ provider })
      .whereNotNull('granted_at')
      .where('expires_at', '>', this.knex.fn.now())
      .count<{ n: number }[]>('* as n');
    return Number(row?.n ?? 0);
  }

  private async waitForGrant(provider: string, cap: number, id: string, ticket: LaneTicket, hooks: { signal?: AbortSignal; onWait?: () => void }) {
    await this.knex.transaction(async (trx) => {
      await lockLane(trx, provider);
      await trx('provider_capacity').insert({
        id,
        provider,
        user_id: ticket.userId,
        job_id: ticket.jobId,
        job_created_at: ticket.jobCreatedAt,
        expires_at: this.expiry(),
      });
      await this.grantFree(trx, provider, cap);
    });
    if (await this.isGranted(id)) return; // the usual case while the lane has room: no listening
    let wake: () => void = () => undefined;
    const stopWatching = await this.grants.watch(id, { changed: () => wake(), closed: () => wake() });
    try {
      for (;;) {
        if (await this.isGranted(id)) return;
        hooks.signal?.throwIfAborted();
        hooks.onWait?.();
        // A grant wakes us at once; the timeout renews the claim and lets a paused lane resume.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(1_000, this.opts.ttlMs / 3));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        await this.knex.transaction(async (trx) => {
          await lockLane(trx, provider);
          await this.renew(id, trx);
          await this.grantFree(trx, provider, cap);
        });
      }
    } finally {
      stopWatching();
    }
  }

  private async isGranted(id: string): Promise<boolean> {
    const row = await this.knex('provider_capacity').where({ id }).first('granted_at');
    if (!row) throw new Error('the capacity claim expired while waiting');
    return row.granted_at !== null;
  }

  private renew(id: string, db: Db = this.knex) {
    return db('provider_capacity').where({ id }).update({ expires_at: this.expiry() });
  }

  private async release(provider: string, cap: number, id: string) {
    await this.knex.transaction(async (trx) => {
      await lockLane(trx, provider);
      await trx('provider_capacity').where({ id }).delete();
      await this.grantFree(trx, provider, cap);
    });
  }

  private expiry() {
    return new Date(Date.now() + this.opts.ttlMs);
  }

  /** Under the lane's lock (lockLane): drops expired claims, then grants free slots in the fair order. */
  private async grantFree(trx: Knex.Transaction, provider: string, cap: number): Promise<void> {
    await trx('provider_capacity').where({ provider }).where('expires_at', '<', trx.fn.now()).delete();
    const lane = await trx('provider_lanes').where({ provider }).first<{ paused: boolean } | undefined>(trx.raw('paused_until > NOW() AS paused'));
    if (lane?.paused) return;
    const { rows } = await trx.raw<{ rows: Array<{ id: string }> }>(
      `WITH held AS (SELECT count(*)::int AS n FROM provider_capacity WHERE provider = :provider AND granted_at IS NOT NULL),
            waiting AS (${rankedJobsSql(':provider', 'WHERE c.granted_at IS NULL')}),
            next AS (
              SELECT c.id FROM provider_capacity c
                JOIN waiting w ON w.user_id = c.user_id AND w.job_id IS NOT DISTINCT FROM c.job_id AND w.job_created_at = c.job_created_at
               WHERE c.provider = :provider AND c.granted_at IS NULL
               ORDER BY w.user_rank, w.job_created_at, c.created_at, c.id
               LIMIT GREATEST(0, :cap - (SELECT n FROM held)))
       UPDATE provider_capacity SET granted_at = NOW() FROM next WHERE provider_capacity.id = next.id
       RETURNING provider_capacity.id`,
      { provider, cap },
    );
    for (const { id } of rows) await trx.raw('SELECT pg_notify(?, ?)', [CAPACITY_GRANTED, id]);
  }
}

/** A podcast job that has not ended yet, in SQL. */
const UNFINISHED = `j.status IN ('pending', 'analyzing', 'scripting', 'synthesizing', 'processing')`;

/**
 * The jobs with claims in a lane (`provider`: its SQL expression; `where`: a further filter on
 * claims `c`), each with `running` (a line of it holds a slot) and `user_rank`: 1 + the user's
 * unfinished podcast jobs older than it. The rank is read from the jobs, not from the claims,
 * so it does not change in the instants between one line's claim and the next; otherwise a
 * user's second job would pass another user's first whenever the first was between lines.
 */
function rankedJobsSql(provider: string, where = ''): string {
  return `SELECT c.user_id, c.job_id, c.job_created_at, bool_or(c.granted_at IS NOT NULL) AS running,
                 1 + (SELECT count(*) FROM podcast_jobs j JOIN podcasts p ON p.id = j.podcast_id
                       WHERE p.user_id = c.user_id AND ${UNFINISHED}
                         AND (j.created_at < c.job_created_at OR (j.created_at = c.job_created_at AND j.id < c.job_id))) AS user_rank
            FROM provider_capacity c
           ${where ? `${where} AND` : 'WHERE'} c.provider = ${provider} AND c.expires_at > NOW()
           GROUP BY c.user_id, c.job_id, c.job_created_at`;
}

/**
 * SQL for a job's place in the queue of its provider's lane, given the SQL of the job's id and
 * status: 1 when its lines are the next to be granted, n when n-1 waiting jobs come before it in
 * the grant order; NULL when a line of it holds a slot or none waits (it is running, or not at its
 * lines yet). Only evaluated for jobs that are synthesizing, so most reads pay nothing.
 */
export function queuePositionSql(jobId: string, status: string): string {
  return `CASE WHEN ${status} = 'synthesizing' THEN (
    SELECT w.pos FROM (
      SELECT r.job_id, row_number() OVER (ORDER BY r.user_rank, r.job_created_at, r.job_id) AS pos
        FROM (${rankedJobsSql(`(SELECT provider FROM provider_capacity WHERE job_id = ${jobId} LIMIT 1)`)}) r
       WHERE NOT r.running) w
     WHERE w.job_id = ${jobId})
  END`;
}

/** The lanes of the configured speech providers, woken over the database `knex` connects to. */
export function providerLanesFor(knex: Knex, config: Config, logger: Logger): ProviderLanes {
  const grants = JobChanges.onDatabaseOf(knex, logger, { channel: CAPACITY_GRANTED, applicationName: 'aimake-provider-lanes' });
  return new ProviderLanes(knex, grants, {
    caps: { openai: config.OPENAI_MAX_CONCURRENCY, elevenlabs: config.ELEVENLABS_MAX_CONCURRENCY, local: config.LOCAL_TTS_MAX_CONCURRENCY },
    ttlMs: config.LINE_HEARTBEAT_TIMEOUT_SEC * 1000,
  });
}
