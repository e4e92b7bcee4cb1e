/**
 * Shared plumbing for the fake provider servers: a fault-injection queue that is consumed in
 * order before normal handling, a request log with per-path counters, and small HTTP helpers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Fault {
  /** Status to answer with. Omit to only apply delayMs and then handle the request normally. */
  status?: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings and Buffers as they are. */
  body?: unknown;
  /** How many requests this fault answers before it is used up (default 1). */
  times?: number;
  /** Wait this long before answering (cut short if the client goes away). */
  delayMs?: number;
  /** Only requests whose path starts with this consume the fault. */
  path?: string;
  /** Only requests whose (parsed JSON) body satisfies this consume the fault, e.g. one line's speech. */
  when?: (body: any) => boolean;
  /** Destroy the socket instead of answering, like a crashed upstream or reset connection. */
  dropConnection?: boolean;
  /** Send status, headers and body, then never finish the response: a stalled download. */
  stallAfterBody?: boolean;
}

export class FaultQueue {
  private readonly queue: Array<{ fault: Fault; remaining: number }> = [];

  push(...faults: Fault[]): number {
    for (const fault of faults) this.queue.push({ fault, remaining: Math.max(1, fault.times ?? 1) });
    return this.queue.length;
  }

  /** The next fault for this request, used up by this call. */
  take(path: string, body?: unknown): Fault | undefined {
    const i = this.queue.findIndex((q) => (q.fault.path === undefined || path.startsWith(q.fault.path)) && (q.fault.when === undefined || q.fault.when(body)));
    if (i < 0) return undefined;
    const entry = this.queue[i]!;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.queue.splice(i, 1);
    return entry.fault;
  }

  get pending(): number {
    return this.queue.length;
  }

  clear(): void {
    this.queue.length = 0;
  }
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON when the body was JSON, else the raw text ('' when empty). */
  body: any;
  /** When the request arrived and when its response ended (ms since the epoch). */
  receivedAt?: number;
  finishedAt?: number;
  /** The status answered, and whether the response was sent in full (false: the client went away first). */
  status?: number;
  complete?: boolean;
}

export class FakeState {
  readonly faults = new FaultQueue();
  readonly requests: LoggedRequest[] = [];
  /** Requests whose response has not ended yet, and the most there ever were at once. */
  inFlight = 0;
  maxInFlight = 0;

  /** Logs a request; given its response, also times it and counts it while in flight. */
  record(entry: LoggedRequest, res?: http.ServerResponse): void {
    entry.receivedAt = Date.now();
    this.requests.push(entry);
    if (!res) return;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.once('close', () => {
      this.inFlight -= 1;
      entry.finishedAt = Date.now();
      entry.status = res.statusCode;
      entry.complete = res.writableFinished;
    });
  }

  /** Requests seen on exactly this path (query string excluded), faulted or not. */
  count(path: string): number {
    return this.requests.filter((r) => r.path === path).length;
  }

  reset(): void {
    this.faults.clear();
    this.requests.length = 0;
    this.maxInFlight = this.inFlight;
  }
}

/** Resolves after ms, or early (with false) when the client disconnects. */
export function waitUnlessGone(ms: number, res: http.ServerResponse): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(!res.destroyed);
  return new Promise((resolve) => {
    const onClose = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(!res.destroyed);
    }, ms);
    res.once('close', onClose);
  });
}

export function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) return;
  let payload: Buffer;
  const h: Record<string, string> = { ...headers };
  const hasType = Object.keys(h).some((k) => k.toLowerCase() === 'content-type');
  if (Buffer.isBuffer(body)) {
    payload = body;
    if (!hasType) h['content-type'] = 'application/octet-stream';
  } else if (typeof body === 'string') {
    payload = Buffer.from(body);
    if (!hasType) h['content-type'] = 'text/plain; charset=utf-8';
  } else if (body === undefined) {
    payload = Buffer.alloc(0);
  } else {
    payload = Buffer.from(JSON.stringify(body));
    if (!hasType) h['content-type'] = 'application/json';
  }
  h['content-length'] = String(payload.length);
  res.writeHead(status, h);
  res.end(payload);
}

/**
 * Applies the next matching fault, if any. Returns true when the fault answered the request,
 * false when the request should be handled normally (no fault, or a delay-only fault).
 */
export async function applyFault(state: FakeState, path: string, res: http.ServerResponse, body?: unknown): Promise<boolean> {
  const fault = state.faults.take(path, body);
  if (!fault) return false;
  if (fault.delayMs && !(await waitUnlessGone(fault.delayMs, res))) return true;
  if (fault.dropConnection) {
    res.socket?.destroy();
    return true;
  }
  if (fault.status === undefined) return false;
  if (fault.stallAfterBody) {
    res.writeHead(fault.status, { ...fault.headers, 'transfer-encoding': 'chunked' });
    if (Buffer.isBuffer(fault.body) || typeof fault.body === 'string') res.write(fault.body);
    await new Promise<void>((resolve) => res.once('close', () => resolve()));
    return true;
  }
  send(res, fault.status, fault.body, fault.headers);
  return true;
}

export async function readRequest(req: http.IncomingMessage): Promise<{ text: string; json: unknown }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  let json: unknown = undefined;
  if (text.length > 0) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { text, json };
}

export function splitUrl(rawUrl: string | undefined): { path: string; query: Record<string, string> } {
  const u = new URL(rawUrl ?? '/', 'http://127.0.0.1');
  return { path: u.pathname, query: Object.fromEntries(u.searchParams.entries()) };
}

/** Listens on an ephemeral port on loopback only. */
export async function listenLoopback(server: http.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Closes the server without waiting for keep-alive or stalled connections to finish. */
export async function closeServer(server: http.Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}
