/**
 * An API client's webhook endpoint on 127.0.0.1: it keeps every request exactly as it arrived
 * (raw body, headers) and answers as the test scripts it, including not at all.
 */
import http from 'node:http';
import { closeServer, listenLoopback, send, splitUrl } from './faults';

export interface ReceivedHook {
  path: string;
  eventId: string | undefined;
  signature: string | undefined;
  contentType: string | undefined;
  rawBody: Buffer;
  body: any;
  receivedAt: number;
  /** The status answered; null while held, or when the sender went away first. */
  answered: number | null;
  /** The sender closed the connection before it was answered. */
  abandoned: boolean;
}

/** A status to answer with, a redirect (status 3xx answers with a Location), or 'hold': answer never. */
export type Answer = number | 'hold';

export interface WebhookReceiver {
  url: string;
  received: ReceivedHook[];
  /** Decides each answer; `n` counts earlier requests for the same event id on the same path. */
  answer: (hook: ReceivedHook, n: number) => Answer;
  /** Resolves once `check` holds over the requests received (polls every 50 ms). */
  until(check: (hooks: ReceivedHook[]) => boolean, timeoutMs: number, what: string): Promise<ReceivedHook[]>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedHook[] = [];
  const receiver: WebhookReceiver = {
    url: '',
    received,
    answer: () => 204,
    async until(check, timeoutMs, what) {
      const deadline = Date.now() + timeoutMs;
      while (!check(received)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received ${JSON.stringify(received.map(summary))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return received;
    },
    close: () => closeServer(server),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      let body: unknown;
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch {
        body = undefined;
      }
      const hook: ReceivedHook = {
        path: splitUrl(req.url).path,
        eventId: req.headers['aimake-event-id'] as string | undefined,
        signature: req.headers['aimake-signature'] as string | undefined,
        contentType: req.headers['content-type'],
        rawBody,
        body,
        receivedAt: Date.now(),
        answered: null,
        abandoned: false,
      };
      const n = received.filter((h) => h.path === hook.path && h.eventId === hook.eventId).length;
      received.push(hook);
      res.once('close', () => {
        if (!res.writableFinished) hook.abandoned = true;
      });
      const answer = receiver.answer(hook, n);
      if (answer === 'hold') return;
      hook.answered = answer;
      send(res, answer, answer >= 300 && answer < 400 ? undefined : { ok: answer < 300 }, answer >= 300 && answer < 400 ? { location: '/redirected' } : {});
    });
  });
  const port = await listenLoopback(server);
  receiver.url = `http://127.0.0.1:${port}`;
  return receiver;
}

function summary(h: ReceivedHook) {
  return { path: h.path, eventId: h.eventId, answered: h.answered, abandoned: h.abandoned };
}
