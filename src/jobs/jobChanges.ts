import type { Knex } from 'knex';
import pg from 'pg';
import { unavailable } from '../errors';
import type { Logger } from '../logger';

/** Notified by the podcast_jobs trigger (migration 20260101000007) with the podcast id as payload. */
export const PODCAST_JOB_CHANGED = 'podcast_job_changed';

export interface JobWatcher {
  /** A job of the watched podcast may have changed: read it again. */
  changed(): void;
  /** The listener is shutting down: stop watching. */
  closed(): void;
}

export interface JobChangesOptions {
  /** While the listening connection is down, every watcher re-reads this often. */
  fallbackPollMs?: number;
  /** The channel to LISTEN on, whose payload names what changed (default: podcast job changes). */
  channel?: string;
  /** How the connection shows in pg_stat_activity. */
  applicationName?: string;
  /** Reconnect backoff: from 250 ms, doubling up to this. */
  maxBackoffMs?: number;
}

interface Session {
  /** Settles once the first attempt to listen has succeeded or failed (the slow poll then covers). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Who is watching which podcast's job, woken by PostgreSQL notifications over one dedicated
 * connection per process. The connection is opened when the first watcher arrives and closed when
 * the last one leaves, so an idle process holds none (and nothing keeps it alive). If it drops it
 * is reopened with backoff; meanwhile every watcher re-reads on a slow poll so that nobody waits
 * forever, and after reconnecting every watcher re-reads once, because notifications sent while
 * nobody listened are lost.
 */
export class JobChanges {
  private readonly watchers = new Map<string, Set<JobWatcher>>();
  private session: Session | null = null;
  private closing = false;
  private readonly fallbackPollMs: number;
  private readonly channel: string;
  private readonly maxBackoffMs: number;

  constructor(
    private readonly connection: pg.ClientConfig,
    private readonly logger: Logger,
    opts: JobChangesOptions = {},
  ) {
    this.fallbackPollMs = opts.fallbackPollMs ?? 5_000;
    this.channel = opts.channel ?? PODCAST_JOB_CHANGED;
    // Written into LISTEN as it is: our own constants only.
    if (!/^[a-z_]+$/.test(this.channel)) throw new Error(`Not a channel name: ${this.channel}`);
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
  }

  /** Listens on the database `knex` connects to (its own connection, outside knex's pool). */
  static onDatabaseOf(knex: Knex, logger: Logger, opts?: JobChangesOptions): JobChanges {
    return new JobChanges(listenerConnection(knex, opts?.applicationName ?? 'aimake-job-changes'), logger, opts);
  }

  /**
   * Calls `watcher.changed()` whenever a job of the podcast may have changed, from the moment the
   * returned promise settles: read the job after it, not before, so that no change falls between.
   * Resolves to the function that stops watching.
   */
  async watch(podcastId: string, watcher: JobWatcher): Promise<() => void> {
    if (this.closing) throw unavailable('The server is shutting down');
    let set = this.watchers.get(podcastId);
    if (!set) this.watchers.set(podcastId, (set = new Set()));
    set.add(watcher);
    this.session ??= this.open();
    await this.session.ready;
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      set.delete(watcher);
      if (set.size === 0 && this.watchers.get(podcastId) === set) this.watchers.delete(podcastId);
      if (this.watchers.size === 0 && this.session) {
        void this.session.stop();
        this.session = null;
      }
    };
  }

  /** Tells every watcher to stop and closes the connection. */
  async close(): Promise<void> {
    this.closing = true;
    for (const set of [...this.watchers.values()]) for (const w of [...set]) w.closed();
    this.watchers.clear();
    const session = this.session;
    this.session = null;
    await session?.stop();
  }

  private wakeAll() {
    for (const set of this.watchers.values()) for (const w of set) w.changed();
  }

  private open(): Session {
    let stopped = false;
    let interrupt = () => {};
    let poll: NodeJS.Timeout | null = null;
    let markReady = () => {};
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    const startPolling = () => {
      poll ??= setInterval(() => this.wakeAll(), this.fallbackPollMs);
    };
    const stopPolling = () => {
      if (poll) clearInterval(poll);
      poll = null;
    };

    const run = async () => {
      let failures = 0;
      let first = true;
      while (!stopped) {
        const client = new pg.Client(this.connection);
        // Resolves when the connection is lost, or when stop() interrupts it.
        const lost = new Promise<void>((resolve) => {
          interrupt = () => {
            resolve();
            void client.end().catch(() => undefined);
          };
          client.on('error', (err) => {
            if (!stopped) this.logger.warn({ err }, 'job change listener: connection error');
            resolve();
          });
          client.on('end', resolve);
        });
        client.on('notification', (msg) => {
          if (msg.channel !== this.channel || !msg.payload) return;
          for (const w of this.watchers.get(msg.payload) ?? []) w.changed();
        });
        try {
          await client.connect();
          await client.query(`LISTEN ${this.channel}`);
          if (!stopped) {
            failures = 0;
            stopPolling();
            if (!first) this.wakeAll(); // changes made while nobody listened
            first = false;
            markReady();
            await lost;
            if (!stopped) this.logger.warn('job change listener: connection lost, reconnecting');
          }
        } catch (err) {
          if (!stopped) this.logger.warn({ err }, 'job change listener: cannot listen, polling slowly until it can');
        } finally {
          client.removeAllListeners('notification');
          await client.end().catch(() => undefined);
        }
        if (stopped) break;
        first = false;
        startPolling();
        markReady();
        const backoffMs = Math.min(this.maxBackoffMs, 250 * 2 ** failures++);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, backoffMs);
          interrupt = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      stopPolling();
    };

    const running = run();
    return {
      ready,
      stop: () => {
        stopped = true;
        stopPolling();
        interrupt();
        markReady();
        return running;
      },
    };
  }
}

/** Settings for a connection of its own to the database `knex` connects to (outside its pool). */
export function listenerConnection(knex: Knex, applicationName: string): pg.ClientConfig {
  const conn = knex.client.config.connection;
  if (typeof conn === 'function') throw new Error('JobChanges needs static connection settings, not a provider function');
  // knex keeps the parsed password as a non-enumerable property: a spread alone would drop it.
  const base: pg.ClientConfig =
    typeof conn === 'string' ? { connectionString: conn } : { ...(conn as pg.ClientConfig), password: (conn as pg.ClientConfig).password };
  return { ...base, application_name: applicationName, keepAlive: true, connectionTimeoutMillis: 5_000 };
}
