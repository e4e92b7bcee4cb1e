import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import { emitJobEvent } from '../../activities/webhooks';
import { webhookDeliveryWorkflowId } from '../../src/temporal/workflowIds';
import { deliverWebhookEvent } from '../../src/webhooks/delivery';
import { call, registerUser } from '../helpers/api';
import { ARTICLE_ZH_EN, pollJob } from '../helpers/generation';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startWorkerProcess } from '../helpers/workerProcess';
import { startWebhookReceiver, type ReceivedHook, type WebhookReceiver } from '../fakes/webhookReceiver';

/** README "Webhooks", as a client would copy it. */
function verifyAimakeSignature(secret: string, header: string, rawBody: Buffer | string, toleranceSec = 300): boolean {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSec) return false;
  const expected = crypto.createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function createHook(stack: TestStack, token: string, url: string, events?: string[]) {
  const res = await call(stack.url, 'POST', '/v1/webhooks', { token, body: { url, ...(events ? { events } : {}) } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; secret: string; url: string; events: string[] };
}

async function speak(stack: TestStack, token: string, text: string): Promise<string> {
  const res = await call(stack.url, 'POST', '/v1/audios', { token, body: { text, voiceId: 'local-en-female' } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body.id as string;
}

const deliveriesOf = async (stack: TestStack, token: string, hookId: string) => {
  const res = await call(stack.url, 'GET', `/v1/webhooks/${hookId}/deliveries`, { token });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.items as Array<{ eventId: string; type: string; attempt: number; status: number | null; error: string | null; at: string }>;
};

const on = (path: string) => (hooks: ReceivedHook[]) => hooks.filter((h) => h.path === path);

describe('webhooks on the real stack', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let receiver: WebhookReceiver;

  before(async () => {
    receiver = await startWebhookReceiver();
    stack = await startTestStack({ WEBHOOK_ALLOW_LOOPBACK: 'true' });
  });
  beforeEach(() => {
    receiver.answer = () => 204;
  });
  after(() => receiver.close());

  const result = async (hookId: string, eventId: string) =>
    (await stack.temporal.client()).workflow.getHandle(webhookDeliveryWorkflowId(hookId, eventId)).result() as Promise<{ delivered: boolean; error?: string }>;

  it('POSTs a signed audio.completed event that verifies as the README shows, with the API view of the audio', async () => {
    const { token } = await registerUser(stack, 'hooks-signed');
    const hook = await createHook(stack, token, `${receiver.url}/signed`);
    const audioId = await speak(stack, token, 'A webhook will say this audio is ready.');

    const [got] = on('/signed')(await receiver.until((h) => on('/signed')(h).length >= 1, 60_000, 'the event'));
    assert.ok(got);
    assert.equal(got.contentType, 'application/json');
    assert.match(got.eventId ?? '', /^evt_[0-9a-f]{32}$/);
    assert.ok(got.signature && verifyAimakeSignature(hook.secret, got.signature, got.rawBody), `signature ${got.signature} verifies`);
    // The check can fail: another secret, a changed body or an old timestamp do not verify.
    assert.equal(verifyAimakeSignature(`${hook.secret}x`, got.signature, got.rawBody), false);
    assert.equal(verifyAimakeSignature(hook.secret, got.signature, Buffer.concat([got.rawBody, Buffer.from(' ')])), false);
    const t = Number(/t=(\d+)/.exec(got.signature)![1]);
    assert.ok(Math.abs(Date.now() / 1000 - t) < 60, 'signed now');
    assert.equal(verifyAimakeSignature(hook.secret, got.signature, got.rawBody, -1), false, 'outside the tolerance');

    assert.deepEqual(Object.keys(got.body).sort(), ['createdAt', 'data', 'id', 'type']);
    assert.equal(got.body.id, got.eventId);
    assert.equal(got.body.type, 'audio.completed');
    const audio = await call(stack.url, 'GET', `/v1/audios/${audioId}`, { token });
    assert.equal(audio.status, 200);
    assert.deepEqual(got.body.data, { audio: audio.body }, 'the same view GET /v1/audios/{id} shows');
    const job = await stack.knex('audio_jobs').where({ id: audioId }).first();
    assert.equal(got.body.createdAt, job!.completed_at!.toISOString(), 'when the job ended');

    assert.deepEqual(await result(hook.id, got.eventId!), { delivered: true });
    const log = await deliveriesOf(stack, token, hook.id);
    assert.equal(log.length, 1);
    assert.deepEqual({ ...log[0], at: undefined }, { eventId: got.eventId, type: 'audio.completed', attempt: 1, status: 204, error: null, at: undefined });
  });

  it('retries a failed answer with the same event within 10 s, then later, follows no redirect, and sends nothing after a 2xx', async () => {
    const { token } = await registerUser(stack, 'hooks-retry');
    const hook = await createHook(stack, token, `${receiver.url}/flaky`, ['audio.completed']);
    receiver.answer = (h, n) => (h.path !== '/flaky' ? 204 : ([500, 302][n] ?? 200));
    await speak(stack, token, 'The first answers fail.');

    const hooks = on('/flaky')(await receiver.until((h) => on('/flaky')(h).length >= 3, 90_000, 'three attempts'));
    const [first, second, third] = hooks as [ReceivedHook, ReceivedHook, ReceivedHook];
    assert.deepEqual(
      hooks.map((h) => h.answered),
      [500, 302, 200],
    );
    for (const h of [second, third]) {
      assert.equal(h.eventId, first.eventId, 'the same event id');
      assert.deepEqual(h.rawBody, first.rawBody, 'the same body');
      assert.ok(verifyAimakeSignature(hook.secret, h.signature!, h.rawBody), 'each attempt is signed');
    }
    const firstRetry = second.receivedAt - first.receivedAt;
    const secondRetry = third.receivedAt - second.receivedAt;
    assert.ok(firstRetry <= 10_000, `first retry after ${firstRetry} ms`);
    assert.ok(secondRetry > firstRetry, `then growing (${firstRetry} ms, then ${secondRetry} ms)`);
    assert.equal(on('/redirected')(receiver.received).length, 0, 'the redirect was not followed');

    assert.deepEqual(await result(hook.id, first.eventId!), { delivered: true });
    // Longer than the next retry would have waited.
    await sleep(secondRetry + 2_000);
    assert.equal(on('/flaky')(receiver.received).length, 3, 'nothing after the 2xx');

    const log = await deliveriesOf(stack, token, hook.id);
    assert.deepEqual(
      log.map((d) => [d.attempt, d.status, d.eventId]),
      [
        [3, 200, first.eventId],
        [2, 302, first.eventId],
        [1, 500, first.eventId],
      ],
      'every attempt, most recent first',
    );
    assert.equal(log[0]!.error, null);
    assert.match(log[1]!.error!, /302.*redirects are not followed/);
    assert.match(log[2]!.error!, /HTTP 500/);
  });

  it('does not send again when an attempt is retried after its 2xx was logged (a worker that died before reporting it)', async () => {
    const { token } = await registerUser(stack, 'hooks-logged');
    const hook = await createHook(stack, token, `${receiver.url}/logged`);
    await speak(stack, token, 'Answered once.');
    const [got] = on('/logged')(await receiver.until((h) => on('/logged')(h).length >= 1, 60_000, 'the event'));
    assert.deepEqual(await result(hook.id, got!.eventId!), { delivered: true });

    // What Temporal runs when an attempt's worker died after logging the answer but before reporting it.
    const retried = await deliverWebhookEvent(stack.knex, { endpointId: hook.id, eventId: got!.eventId!, attempt: 2, allowLoopback: true });
    assert.deepEqual(retried, { outcome: 'already-delivered' });
    await sleep(500);
    assert.equal(on('/logged')(receiver.received).length, 1, 'sent once');
    assert.equal((await deliveriesOf(stack, token, hook.id)).length, 1);
  });

  it('sends each user the events their endpoints subscribed to, and nothing to anyone else', async () => {
    const alice = await registerUser(stack, 'hooks-alice');
    const bob = await registerUser(stack, 'hooks-bob');
    const failedOnly = await createHook(stack, alice.token, `${receiver.url}/failed-only`, ['podcast.failed']);
    const completedOnly = await createHook(stack, alice.token, `${receiver.url}/completed-only`, ['podcast.completed']);
    await createHook(stack, bob.token, `${receiver.url}/bob`);
    receiver.answer = (h) => (h.path === '/missing' ? 404 : 204);

    const made = await call(stack.url, 'POST', '/v1/podcasts', {
      token: alice.token,
      body: {
        title: 'Subscribed',
        sourceType: 'text',
        sourceContent: ARTICLE_ZH_EN,
        targetDuration: 60,
        hostVoiceId: 'local-zh-female',
        guestVoiceId: 'local-zh-male',
      },
    });
    const broken = await call(stack.url, 'POST', '/v1/podcasts', {
      token: alice.token,
      body: { sourceType: 'url', sourceContent: `${receiver.url}/missing`, targetDuration: 60, hostVoiceId: 'local-en-female', guestVoiceId: 'local-en-male' },
    });
    assert.equal(made.status, 202, JSON.stringify(made.body));
    assert.equal(broken.status, 202, JSON.stringify(broken.body));
    await speak(stack, alice.token, 'Nobody subscribed to this audio.');
    assert.equal((await pollJob(stack, alice.token, made.body.podcast.id, 150_000)).job.status, 'completed');
    assert.equal((await pollJob(stack, alice.token, broken.body.podcast.id)).job.status, 'failed');

    await receiver.until((h) => on('/failed-only')(h).length >= 1 && on('/completed-only')(h).length >= 1, 30_000, 'both events');
    await sleep(3_000);
    const failed = on('/failed-only')(receiver.received);
    const completed = on('/completed-only')(receiver.received);
    assert.deepEqual(
      failed.map((h) => h.body.type),
      ['podcast.failed'],
    );
    assert.deepEqual(
      completed.map((h) => h.body.type),
      ['podcast.completed'],
      'no audio or failure event',
    );
    assert.equal(on('/bob')(receiver.received).length, 0, "another user's endpoint hears nothing of alice's jobs");
    assert.ok(verifyAimakeSignature(failedOnly.secret, failed[0]!.signature!, failed[0]!.rawBody));
    assert.ok(verifyAimakeSignature(completedOnly.secret, completed[0]!.signature!, completed[0]!.rawBody));
    assert.equal(verifyAimakeSignature(failedOnly.secret, completed[0]!.signature!, completed[0]!.rawBody), false, 'secrets are per endpoint');

    const podcast = await call(stack.url, 'GET', `/v1/podcasts/${made.body.podcast.id}`, { token: alice.token });
    const job = await call(stack.url, 'GET', `/v1/podcasts/${made.body.podcast.id}/job`, { token: alice.token });
    assert.deepEqual(completed[0]!.body.data, { podcast: podcast.body, job: job.body }, 'the API views of the podcast and its job');
    const data = failed[0]!.body.data;
    assert.equal(data.podcast.id, broken.body.podcast.id);
    assert.equal(data.podcast.status, 'failed');
    assert.equal(data.job.status, 'failed');
    assert.equal(data.job.errorCode, 'SOURCE_HTTP_ERROR');
  });

  it('refuses private and metadata targets at delivery, without retrying them', async () => {
    const { token, user } = await registerUser(stack, 'hooks-private');
    // Creation refuses these (test/api/webhooks.test.ts); a name that resolved to a public address
    // then may resolve inside later. Literals stand in for such names: tests have no DNS to steer.
    const inside = ['http://10.0.0.1:8080/hook', 'http://169.254.169.254/latest/meta-data/'];
    const ids: string[] = [];
    for (const url of inside) {
      const [row] = await stack
        .knex('webhook_endpoints')
        .insert({ user_id: user.id, url, events: ['audio.completed'], secret: 'whsec_test' })
        .returning('id');
      ids.push(row!.id);
    }
    await speak(stack, token, 'This event must not leave the building.');
    for (const [i, id] of ids.entries()) {
      const log = await eventually(async () => {
        const items = await deliveriesOf(stack, token, id);
        return items.length ? items : undefined;
      });
      assert.equal(log[0]!.status, null);
      assert.match(log[0]!.error!, i === 0 ? /10\.0\.0\.1: private addresses are not allowed/ : /169\.254\.169\.254: linkLocal addresses are not allowed/);
      const outcome = await result(id, log[0]!.eventId);
      assert.equal(outcome.delivered, false);
      assert.equal((await deliveriesOf(stack, token, id)).length, 1, 'a refused target is not tried again');
    }
  });
});

describe('webhooks when a worker dies', function () {
  this.timeout(240_000);
  let stack: TestStack;
  let receiver: WebhookReceiver;
  const workers: ChildProcess[] = [];

  before(async () => {
    receiver = await startWebhookReceiver();
    stack = await startTestStack({ WEBHOOK_ALLOW_LOOPBACK: 'true' }, { worker: false });
  });
  after(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await receiver.close();
  });

  const spawn = async () => {
    const child = await startWorkerProcess(stack, { WEBHOOK_ALLOW_LOOPBACK: 'true' }, { untilRunning: true });
    workers.push(child);
    return child;
  };

  it('delivers an event cut off mid-attempt by a SIGKILL once it is answered 2xx, and never again', async () => {
    const first = await spawn();
    const { token } = await registerUser(stack, 'hooks-crash');
    const hook = await createHook(stack, token, `${receiver.url}/crash`);
    // The first attempt is never answered: its worker dies while it waits.
    receiver.answer = (_h, n) => (n === 0 ? 'hold' : 200);
    const audioId = await speak(stack, token, 'Delivered through a crash.');

    const [held] = await receiver.until((h) => h.length >= 1, 90_000, 'the first attempt');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    await eventually(async () => (held!.abandoned ? true : undefined), 10_000, 'the dead worker to drop the request');

    await spawn();
    const client = await stack.temporal.client();
    const delivery = client.workflow.getHandle(webhookDeliveryWorkflowId(hook.id, held!.eventId!));
    const outcome = await delivery.result();
    assert.deepEqual(outcome, { delivered: true });
    const answered = receiver.received.filter((h) => h.answered === 200);
    assert.equal(answered.length, 1);
    assert.equal(answered[0]!.eventId, held!.eventId);
    assert.deepEqual(answered[0]!.rawBody, held!.rawBody, 'the same event');

    // The completion activity, retried after a crash, emits the same event again: it is not sent again.
    const { runId } = await delivery.describe();
    const again = await emitJobEvent({ knex: stack.knex, config: stack.config }, client, { type: 'audio.completed', audioId });
    assert.equal(again, held!.eventId);
    assert.equal((await delivery.describe()).runId, runId, 'no second delivery run');
    await sleep(8_000);
    assert.equal(receiver.received.length, 2, 'the cut-off attempt and the answered one, nothing more');
    const log = await deliveriesOf(stack, token, hook.id);
    assert.deepEqual(
      log.map((d) => d.status),
      [200],
      'the attempt that died left no answer on record',
    );
  });
});
