import { rateLimited } from '../errors';

/** What a refused client is told to wait: a slot frees as soon as one of its streams ends. */
const RETRY_AFTER_SEC = 5;

/**
 * The event streams each user has open, counted in this API process: a stream holds a socket and
 * a database watch for as long as its job runs, so one user may hold at most `maxPerUser` at once
 * (SSE_MAX_PER_USER). The count lives in memory, so behind N API processes a user may open up to
 * N × maxPerUser; it needs no shared state and frees itself if the process dies.
 */
export class StreamSlots {
  private readonly open = new Map<string, number>();

  constructor(private readonly maxPerUser: number) {}

  /** Takes one of the user's slots, or 429 RATE_LIMITED; the returned release may be called any number of times. */
  take(userId: string): () => void {
    const held = this.open.get(userId) ?? 0;
    if (held >= this.maxPerUser) {
      throw rateLimited(RETRY_AFTER_SEC, `At most ${this.maxPerUser} event streams may be open at once; close one first`);
    }
    this.open.set(userId, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(userId) ?? 1) - 1;
      if (left > 0) this.open.set(userId, left);
      else this.open.delete(userId);
    };
  }
}
