import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { call, registerUser } from '../helpers/api';
import { ARTICLE_ZH_EN } from '../helpers/generation';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';

/**
 * Runs that end outside our code (an operator terminates one in the Temporal UI, a run times out)
 * must not leave a job processing with its quota reserved forever.
 */
describe('jobs whose run ended outside AIMake', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let client: Client;

  before(async () => {
    stack = await startTestStack();
    client = await stack.temporal.client();
  });

  /** A review run parks as a draft: a live run that waits, holding its reservation. */
  async function draftPodcast(token: string) {
    const res = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: {
        sourceType: 'text',
        sourceContent: ARTICLE_ZH_EN,
        targetDuration: 60,
        hostVoiceId: 'local-zh-female',
        guestVoiceId: 'local-zh-male',
        review: true,
      },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const podcastId = res.body.podcast.id as string;
    await eventually(async () => ((await stack.knex('podcasts').where({ id: podcastId }).first())?.status === 'draft' ? true : undefined), 60_000, 'the draft');
    return { podcastId, jobId: res.body.job.id as string };
  }
  const reserved = async (userId: string) => (await stack.knex('users').where({ id: userId }).first())!.quota_reserved;
  const reconcile = () =>
    client.workflow.execute('reconcileJobsWorkflow', { taskQueue: stack.taskQueue, workflowId: `job-reconcile-test-${Date.now()}` }) as Promise<{
      repaired: Array<{ kind: string; id: string; code: string }>;
    }>;

  it('fails a job whose run was terminated, releases its quota, and leaves live runs alone', async () => {
    const { token, user } = await registerUser(stack, 'reconcile');
    const gone = await draftPodcast(token);
    const live = await draftPodcast(token);
    const held = await reserved(user.id);
    assert.ok(held > 0, 'both drafts hold quota');

    await client.workflow.getHandle(`podcast-${gone.podcastId}`).terminate('an operator stopped it in the Web UI');
    const report = await reconcile();
    assert.deepEqual(
      report.repaired.filter((r) => r.id === gone.podcastId || r.id === live.podcastId),
      [{ kind: 'podcast', id: gone.podcastId, code: 'RUN_TERMINATED' }],
    );

    const job = (await call(stack.url, 'GET', `/v1/podcasts/${gone.podcastId}/job`, { token })).body;
    assert.equal(job.status, 'failed');
    assert.equal(job.errorCode, 'RUN_TERMINATED');
    assert.equal((await call(stack.url, 'GET', `/v1/podcasts/${gone.podcastId}`, { token })).body.status, 'failed');
    assert.ok((await reserved(user.id)) < held, "the terminated job's reservation is released");

    const still = (await call(stack.url, 'GET', `/v1/podcasts/${live.podcastId}/job`, { token })).body;
    assert.notEqual(still.status, 'failed', 'a live run is not touched');
    assert.deepEqual(
      (await reconcile()).repaired.filter((r) => r.id === gone.podcastId),
      [],
      'a second pass changes nothing',
    );

    // The failed job can be generated again, from the script it already has.
    assert.equal((await call(stack.url, 'POST', `/v1/podcasts/${gone.podcastId}/generate`, { token })).status, 202);
  });

  it('repairs a terminated job on cancel instead of answering 202 and changing nothing', async () => {
    const { token, user } = await registerUser(stack, 'cancel-terminated');
    const { podcastId } = await draftPodcast(token);
    await client.workflow.getHandle(`podcast-${podcastId}`).terminate('an operator stopped it in the Web UI');

    const res = await call(stack.url, 'POST', `/v1/podcasts/${podcastId}/cancel`, { token });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.job.status, 'canceled');
    assert.equal((await call(stack.url, 'GET', `/v1/podcasts/${podcastId}`, { token })).body.status, 'canceled');
    assert.equal(await reserved(user.id), 0, 'nothing stays reserved');
  });
});
