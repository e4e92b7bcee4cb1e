import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Config } from '../config';
import { JobChanges } from '../jobs/jobChanges';
import type { Logger } from '../logger';

/**
 * Provider capacity, shared by every worker process through PostgreSQL. A line claims a slot of
 * its provider's lane before it speaks and gives it back after; at most `cap` slots of a provider
 * are held at once, whatever the number of workers. Free slots go to waiting lines in a fair
 * order: every user's oldest unfinished job before anyone's next (one user's ten podcasts cannot
 * starve another user's first); among those the user holding fewest slots, served longest ago;
 * then the oldest job, then the oldest claim; so users share the lane evenly and each user's
 * jobs finish one after another instead of all at the end. Whoever frees a slot grants it, under the lane's advisory
 * lock, and wakes the grantee with NOTIFY, so waiting costs nothing but a renewal a second per
 * process. Claims are renewed while their line lives and expire otherwise: a worker killed while
 * holding capacity loses it within `ttlMs`. A 429 pauses the whole lane until its Retry-After.
 * Claiming, granting and releasing are SQL functions (migration 010), one round trip each.
 */
export const CAPACITY_GRANTED = 'provider_capacity_granted';

export interface LaneTicket {
  userId: string;
  /** The podcast job, or the audio (text to speech) the line belongs to. */
  jobId: string | null;
  jobCreatedAt: Date;
  /** At most this many of the job's lines hold slots at once (SYNTH_CONCURRENCY; null: no cap). */
  jobCap: number | null;
}

export interface LaneOptions {
  /** Slots per provider across all workers; a provider not named here is not capped. */
  caps: Record<string, number>;
  /** How long an unrenewed claim lives (a dead worker's capacity returns after this). */
  ttlMs: number;
}

/** How often a process renews its waiting claims and looks for slots nobody will grant. */
const TICK_MS = 1_000;

interface Waiter {
  provider: string;
  cap: number;
  state: 'waiting' | 'granted' | 'expired';
  wake: () => void;
}

export class ProviderLanes {
  private readonly waiters = new Map<string, Waiter>();
  private ticker: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;

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
   * Lines of one job to keep in flight: enough for the job alone to fill the largest lane among
   * its `providers`, or its `perJobCap` (SYNTH_CONCURRENCY, which the lane enforces through the
   * ticket's jobCap), plus a few that wait in the lane with their claims made, so a freed slot is
   * taken at once instead of after the workflow has heard of the finished line and scheduled the
   * next (tens of milliseconds a line).
   */
  concurrencyFor(providers: string[], perJobCap: number | undefined): number {
    const lane = Math.max(1, ...providers.map((p) => this.capOf(p) ?? perJobCap ?? 1));
    const speaking = Math.min(perJobCap ?? lane, lane);
    return speaking + Math.ceil(speaking / 4) + 1;
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

  private async waitForGrant(provider: string, cap: number, id: string, ticket: LaneTicket, hooks: { signal?: AbortSignal; onWait?: () => void }) {
    const { rows } = await this.knex.raw<{ rows: Array<{ granted: boolean }> }>('SELECT provider_lane_claim(?, ?, ?, ?, ?, ?, ?, ?) AS granted', [
      id,
      provider,
      ticket.userId,
      ticket.jobId,
      ticket.jobCreatedAt,
      ticket.jobCap,
      this.expiry(),
      cap,
    ]);
    if (rows[0]?.granted) return; // the usual case while the lane has room: no listening
    const waiter: Waiter = { provider, cap, state: 'waiting', wake: () => undefined };
    this.waiters.set(id, waiter);
    this.tickWhileWaiting();
    let notified = true; // the grant may have come before the watch began
    const stopWatching = await this.grants.watch(id, {
      changed: () => {
        notified = true;
        waiter.wake();
      },
      closed: () => waiter.wake(),
    });
    try {
      for (;;) {
        if (waiter.state === 'expired') throw new Error('the capacity claim expired while waiting');
        if (waiter.state === 'granted') return;
        if (notified) {
          notified = false;
          if (await this.isGranted(id)) return;
        }
        hooks.signal?.throwIfAborted();
        hooks.onWait?.();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, TICK_MS);
          waiter.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      stopWatching();
      this.waiters.delete(id);
    }
  }

  /**
   * One timer per process for all its waiting claims, so waiting costs one query a second per
   * provider, not one locked transaction per line: it renews the claims (and learns of grants
   * whose notification was lost), and grants free slots that no release will grant: those of a
   * worker that died holding them, or of a lane whose pause has ended.
   */
  private tickWhileWaiting() {
    if (this.ticker) return;
    this.ticker = setInterval(() => {
      if (this.waiters.size === 0) {
        clearInterval(this.ticker!);
        this.ticker = null;
        return;
      }
      if (this.ticking) return;
      this.ticking = this.tick()
        .catch(() => undefined) // the next tick tries again; a claim not renewed meanwhile expires
        .finally(() => (this.ticking = null));
    }, TICK_MS);
    this.ticker.unref();
  }

  private async tick() {
    const lanes = new Map<string, { cap: number; ids: string[] }>();
    for (const [id, w] of this.waiters) {
      const lane = lanes.get(w.provider) ?? { cap: w.cap, ids: [] };
      lane.ids.push(id);
      lanes.set(w.provider, lane);
    }
    for (const [provider, { cap, ids }] of lanes) {
      const { rows } = await this.knex.raw<{ rows: Array<{ id: string; granted: boolean; room: boolean }> }>(
        `WITH renewed AS (UPDATE provider_capacity SET expires_at = ? WHERE id = ANY(?::uuid[]) RETURNING id, granted_at IS NOT NULL AS granted)
         SELECT r.id, r.granted,
                (SELECT count(*) FROM provider_capacity WHERE provider = ? AND granted_at IS NOT NULL AND expires_at > NOW()) < ?
                  AND NOT EXISTS (SELECT 1 FROM provider_lanes WHERE provider = ? AND paused_until > NOW()) AS room
           FROM renewed r`,
        [this.expiry(), ids, provider, cap, provider],
      );
      const renewed = new Map(rows.map((r) => [r.id, r.granted]));
      for (const id of ids) {
        const w = this.waiters.get(id);
        if (!w) continue;
        const granted = renewed.get(id);
        if (granted === undefined) w.state = 'expired';
        else if (granted) w.state = 'granted';
        if (w.state !== 'waiting') w.wake();
      }
      if (rows.some((r) => r.room && !r.granted)) await this.knex.raw('SELECT provider_lane_grant(?, ?)', [provider, cap]);
    }
  }

  private async isGranted(id: string): Promise<boolean> {
    const row = await this.knex('provider_capacity').where({ id }).first('granted_at');
    if (!row) throw new Error('the capacity claim expired while waiting');
    return row.granted_at !== null;
  }

  private renew(id: string) {
    return this.knex('provider_capacity').where({ id }).update({ expires_at: this.expiry() });
  }

  private async release(provider: string, cap: number, id: string) {
    await this.knex.raw('SELECT provider_lane_release(?, ?, ?)', [id, provider, cap]);
  }

  private expiry() {
    return new Date(Date.now() + this.opts.ttlMs);
  }
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
        FROM provider_lane_jobs r
       WHERE r.provider = (SELECT provider FROM provider_capacity WHERE job_id = ${jobId} LIMIT 1) AND NOT r.running) w
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
