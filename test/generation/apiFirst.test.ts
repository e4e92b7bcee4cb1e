import { msToTs } from '@temporalio/common/lib/time';
import assert from 'node:assert/strict';
import { ensureSearchAttributes, SEARCH_ATTRIBUTES } from '../../src/temporal/searchAttributes';
import { call, registerUser } from '../helpers/api';
import { ARTICLE_ZH_EN, pollJob } from '../helpers/generation';
import { eventually, startTestStack } from '../helpers/stack';
import { testTemporal } from '../helpers/temporal';

/** A namespace as a new cluster has it: none of our search attributes registered. */
async function freshNamespace(label: string) {
  const env = await testTemporal();
  const namespace = `${label}-${Date.now()}`;
  await env.connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  await eventually(() => env.connection.workflowService.describeNamespace({ namespace }).catch(() => undefined), 20_000, 'the new namespace');
  const listed = await env.connection.operatorService.listSearchAttributes({ namespace });
  assert.deepEqual(Object.keys(listed.customAttributes ?? {}), [], 'the namespace starts without our search attributes');
  return { env, namespace };
}

describe('API and worker start in any order on a new Temporal namespace', function () {
  this.timeout(180_000);

  it('accepts a podcast requested before any worker ran, and the worker started later completes it', async () => {
    const { env, namespace } = await freshNamespace('api-first');
    const stack = await startTestStack({ TEMPORAL_NAMESPACE: namespace }, { worker: false });
    const { token } = await registerUser(stack, 'api-first');

    const res = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: {
        title: 'Before any worker',
        sourceType: 'text',
        sourceContent: ARTICLE_ZH_EN,
        targetDuration: 60,
        hostVoiceId: 'local-zh-female',
        guestVoiceId: 'local-zh-male',
      },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const listed = await env.connection.operatorService.listSearchAttributes({ namespace });
    for (const key of SEARCH_ATTRIBUTES) assert.ok(key.name in (listed.customAttributes ?? {}), `${key.name} registered by the API`);

    // What the worker does at start finds nothing left to register, and does not fail.
    assert.deepEqual(await ensureSearchAttributes(env.connection.operatorService, namespace), []);
    await stack.startWorker();
    const { job } = await pollJob(stack, token, res.body.podcast.id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
  });
});
