import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { jsonb } from '../../src/db';
import { registerUser } from '../helpers/api';
import { uploadDocument } from '../helpers/documents';
import { startTestStack, type TestStack } from '../helpers/stack';

describe('housekeeping workflow', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack();
  });

  it("removes expired sessions, idempotency keys, OAuth states, rate-limit counters and finished jobs' pronunciations, and nothing live", async () => {
    const { user } = await registerUser(stack, 'housekeeping');
    const hourAgo = new Date(Date.now() - 3_600_000);
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    await stack.knex('sessions').insert([{ user_id: user.id, token_hash: 'a'.repeat(64), expires_at: hourAgo }]);
    await stack.knex('idempotency_keys').insert([
      { user_id: user.id, endpoint: 'POST /v1/audios', key: 'old', request_hash: 'x', created_at: twoDaysAgo },
      { user_id: user.id, endpoint: 'POST /v1/audios', key: 'fresh', request_hash: 'x' },
    ]);
    await stack.knex('oauth_states').insert([
      { state_hash: 'b'.repeat(64), provider: 'google', created_at: twoDaysAgo },
      { state_hash: 'c'.repeat(64), provider: 'google' },
    ]);
    await stack.knex('rate_limits').insert([
      { key: 'housekeeping-old', points: 3, expire: Date.now() - 1000 },
      { key: 'housekeeping-live', points: 3, expire: Date.now() + 60_000 },
    ]);

    // A job's copy of the pronunciation dictionary lives as long as the job runs.
    const [podcast] = await stack.knex('podcasts').insert({ user_id: user.id, source_type: 'text', source_content: 'x', status: 'processing' }).returning('id');
    const jobs = await stack
      .knex('podcast_jobs')
      .insert([
        { podcast_id: podcast!.id, status: 'completed' },
        { podcast_id: podcast!.id, status: 'synthesizing' },
      ])
      .returning(['id', 'status']);
    await stack
      .knex('job_pronunciations')
      .insert(jobs.map((j) => ({ job_id: j.id, user_id: user.id, items: jsonb(stack.knex, [{ term: 'AI', say: 'A-I' }]) })));

    const client = await stack.temporal.client();
    const removed = await client.workflow.execute('housekeepingWorkflow', {
      taskQueue: stack.taskQueue,
      workflowId: `housekeeping-test-${Date.now()}`,
      args: [],
    });
    assert.ok(
      removed.sessions >= 1 && removed.idempotencyKeys >= 1 && removed.oauthStates >= 1 && removed.rateLimits >= 1 && removed.jobPronunciations >= 1,
      JSON.stringify(removed),
    );

    assert.equal((await stack.knex('sessions').where({ token_hash: 'a'.repeat(64) })).length, 0);
    assert.ok((await stack.knex('sessions').where({ user_id: user.id })).length >= 1, 'the live login session stays');
    assert.deepEqual(await stack.knex('idempotency_keys').where({ user_id: user.id }).pluck('key'), ['fresh']);
    assert.deepEqual(
      await stack
        .knex('oauth_states')
        .whereIn('state_hash', ['b'.repeat(64), 'c'.repeat(64)])
        .pluck('state_hash'),
      ['c'.repeat(64)],
    );
    assert.deepEqual(await stack.knex('rate_limits').where('key', 'like', 'housekeeping-%').pluck('key'), ['housekeeping-live']);
    assert.deepEqual(
      await stack.knex('job_pronunciations').where({ user_id: user.id }).pluck('job_id'),
      jobs.filter((j) => j.status === 'synthesizing').map((j) => j.id),
      "only the running job's copy stays",
    );
  });

  it('removes webhook events (and their delivery log) 30 days after their job ended, and keeps recent ones', async () => {
    const { user } = await registerUser(stack, 'housekeeping-webhooks');
    const [endpoint] = await stack
      .knex('webhook_endpoints')
      .insert({ user_id: user.id, url: 'https://93.184.215.14/hook', events: ['audio.completed'], secret: 'whsec_test' })
      .returning('id');
    const [old, recent] = [1, 2].map(() => `evt_${crypto.randomBytes(16).toString('hex')}`) as [string, string];
    await stack.knex('webhook_events').insert([
      { id: old, user_id: user.id, type: 'audio.completed', body: '{}', created_at: new Date(Date.now() - 31 * 86_400_000) },
      { id: recent, user_id: user.id, type: 'audio.completed', body: '{}', created_at: new Date(Date.now() - 29 * 86_400_000) },
    ]);
    await stack.knex('webhook_deliveries').insert([old, recent].map((event_id) => ({ endpoint_id: endpoint!.id, event_id, attempt: 1, status: 204 })));

    const client = await stack.temporal.client();
    const removed = await client.workflow.execute('housekeepingWorkflow', {
      taskQueue: stack.taskQueue,
      workflowId: `housekeeping-hooks-${Date.now()}`,
      args: [],
    });
    assert.ok(removed.webhookEvents >= 1, JSON.stringify(removed));
    assert.deepEqual(await stack.knex('webhook_events').where({ user_id: user.id }).pluck('id'), [recent]);
    assert.deepEqual(await stack.knex('webhook_deliveries').where({ endpoint_id: endpoint!.id }).pluck('event_id'), [recent], 'the log goes with its event');
  });

  it('removes uploads unused for 24 hours, row and file, and keeps fresh ones and those a podcast used', async () => {
    const { token, user } = await registerUser(stack, 'housekeeping-uploads');
    const upload = async (name: string) => {
      const res = await uploadDocument(stack, token, { name, bytes: Buffer.from(`The text of ${name}.`) });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.id as string;
    };
    const [stale, used, fresh] = [await upload('stale.txt'), await upload('used.txt'), await upload('fresh.txt')];
    const dayAgo = new Date(Date.now() - 86_400_000);
    await stack.knex('uploads').whereIn('id', [stale, used]).update({ created_at: dayAgo, expires_at: dayAgo });
    await stack.knex('uploads').where({ id: used }).update({ used_at: dayAgo });

    const client = await stack.temporal.client();
    const removed = await client.workflow.execute('housekeepingWorkflow', {
      taskQueue: stack.taskQueue,
      workflowId: `housekeeping-uploads-${Date.now()}`,
      args: [],
    });
    assert.ok(removed.uploads >= 1, JSON.stringify(removed));
    assert.equal(removed.uploadsFailed, 0);

    assert.deepEqual((await stack.knex('uploads').where({ user_id: user.id }).pluck('id')).sort(), [used, fresh].sort());
    assert.equal(await stack.storage.exists(`uploads/${user.id}/${stale}`), false, 'the stale file is gone');
    assert.equal(await stack.storage.exists(`uploads/${user.id}/${used}`), true);
    assert.equal(await stack.storage.exists(`uploads/${user.id}/${fresh}`), true);
  });
});
