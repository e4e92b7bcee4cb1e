import assert from 'node:assert/strict';
import { call, registerUser } from '../helpers/api';
import { longArticle, pollJob } from '../helpers/generation';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openaiServer';

/** Estimates before spending (POST …/estimate) and the ETA of a running job (issue 11, items 5 and 6). */
describe('estimates and ETA', function () {
  this.timeout(240_000);
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack();
  });

  const counts = async (userId: string) => {
    const [p] = await stack.knex('podcasts').where({ user_id: userId }).count<{ count: string }[]>();
    const [a] = await stack.knex('audio_jobs').where({ user_id: userId }).count<{ count: string }[]>();
    const u = await stack.knex('users').where({ id: userId }).first();
    return { podcasts: Number(p!.count), audioJobs: Number(a!.count), reserved: u!.quota_reserved, used: u!.quota_used };
  };

  const podcastBody = {
    title: 'Radio stories',
    sourceType: 'text',
    sourceContent: longArticle('en', 4, 12),
    targetDuration: 180,
    language: 'en-US',
    hostVoiceId: 'local-en-female',
    guestVoiceId: 'local-en-male',
  };

  it('estimates a podcast without creating anything, within 15 % of what the job then charges', async () => {
    const { token, user } = await registerUser(stack, 'estimate-podcast');
    const before = await counts(user.id);
    const res = await call(stack.url, 'POST', '/v1/podcasts/estimate', { token, body: podcastBody });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const e = res.body;
    assert.deepEqual(Object.keys(e).sort(), ['estimatedDuration', 'etaSeconds', 'fits', 'quotaCost', 'quotaRemaining']);
    assert.equal(e.quotaCost, Math.ceil(e.estimatedDuration));
    assert.equal(e.quotaRemaining, 600, 'the free plan, nothing used');
    assert.equal(e.fits, true);
    assert.ok(e.etaSeconds > 0 && e.etaSeconds < 120, `eta ${e.etaSeconds}`);
    assert.deepEqual(await counts(user.id), before, 'nothing created, nothing reserved');

    const created = await call(stack.url, 'POST', '/v1/podcasts', { token, body: podcastBody });
    assert.equal(created.status, 202);
    const { job } = await pollJob(stack, token, created.body.podcast.id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    const charged = (await counts(user.id)).used;
    assert.ok(Math.abs(charged / e.quotaCost - 1) <= 0.15, `estimated ${e.quotaCost} s, charged ${charged} s`);
  });

  it('says a request does not fit instead of refusing it, and validates like create', async () => {
    const { token, user } = await registerUser(stack, 'estimate-quota');
    await stack.knex('users').where({ id: user.id }).update({ quota_used: 590 });
    const e = (await call(stack.url, 'POST', '/v1/podcasts/estimate', { token, body: podcastBody })).body;
    assert.equal(e.quotaRemaining, 10);
    assert.equal(e.fits, false);
    assert.equal(
      (await call(stack.url, 'POST', '/v1/podcasts', { token, body: podcastBody })).status,
      402,
      'create refuses what the estimate said would not fit',
    );

    const bad = await call(stack.url, 'POST', '/v1/podcasts/estimate', { token, body: { ...podcastBody, hostVoiceId: undefined, targetDuration: 5 } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'VALIDATION_FAILED');
    const topic = await call(stack.url, 'POST', '/v1/podcasts/estimate', { token, body: { ...podcastBody, sourceType: 'topic', sourceContent: 'Radio' } });
    assert.equal(topic.status, 400, 'a topic needs an LLM, as at create');
    assert.equal((await call(stack.url, 'POST', '/v1/podcasts/estimate', { body: podcastBody })).status, 401);
  });

  it('estimates text to speech within 15 % of the charge', async () => {
    const { token, user } = await registerUser(stack, 'estimate-tts');
    const body = { text: longArticle('en', 1, 8).replace(/^## .*\n\n/, ''), voiceId: 'local-en-female' };
    const e = (await call(stack.url, 'POST', '/v1/audios/estimate', { token, body })).body;
    assert.ok(e.estimatedDuration > 10, JSON.stringify(e));
    assert.equal((await counts(user.id)).audioJobs, 0);
    const created = await call(stack.url, 'POST', '/v1/audios', { token, body });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    await eventually(
      async () => {
        const r = await call(stack.url, 'GET', `/v1/audios/${created.body.id}`, { token });
        assert.notEqual(r.body.status, 'failed', JSON.stringify(r.body));
        return r.status === 200 && r.body.audioUrl ? true : undefined;
      },
      60_000,
      'the audio',
    );
    const charged = (await counts(user.id)).used;
    assert.ok(Math.abs(charged / e.quotaCost - 1) <= 0.15, `estimated ${e.quotaCost} s, charged ${charged} s`);
  });

  describe('while a job runs', () => {
    let openai: FakeOpenAi;
    let slow: TestStack;
    before(async () => {
      // A provider that takes 400 ms a line, two at a time: a podcast of 24 lines speaks for ~5 s.
      openai = await startFakeOpenAi({ latencyMs: 400 });
      openai.setChatHandler(() => ({
        lines: Array.from({ length: 24 }, (_, i) => ({ role: i % 2 ? 'guest' : 'host', text: `Line ${i + 1} of a podcast that takes a while.` })),
      }));
      slow = await startTestStack({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, ELEVENLABS_API_KEY: '', SYNTH_CONCURRENCY: '2' });
    });
    after(async () => {
      await openai.close();
    });

    it('shows etaSeconds in the job view, falling as lines are done, and null once it ends', async () => {
      const { token } = await registerUser(slow, 'eta');
      const res = await call(slow.url, 'POST', '/v1/podcasts', {
        token,
        body: { sourceType: 'topic', sourceContent: 'Radio', targetDuration: 120, language: 'en-US', hostVoiceId: 'openai-alloy', guestVoiceId: 'openai-nova' },
      });
      assert.equal(res.status, 202);
      const id = res.body.podcast.id as string;
      const etas: number[] = [];
      const job = await eventually(
        async () => {
          const j = (await call(slow.url, 'GET', `/v1/podcasts/${id}/job`, { token })).body;
          assert.ok('etaSeconds' in j);
          if (j.status === 'synthesizing' && j.etaSeconds !== null) etas.push(j.etaSeconds);
          return ['completed', 'failed'].includes(j.status) ? j : undefined;
        },
        60_000,
        'the podcast',
      );
      assert.equal(job.status, 'completed');
      assert.equal(job.etaSeconds, null);
      assert.ok(etas.length >= 3, `ETA seen ${etas.length} times`);
      assert.ok(
        etas.every((s) => s > 0 && s < 60),
        JSON.stringify(etas),
      );
      assert.ok(etas[etas.length - 1]! < etas[0]!, `the ETA falls: ${JSON.stringify(etas)}`);
    });
  });
});
