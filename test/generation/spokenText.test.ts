import assert from 'node:assert/strict';
import { call, registerUser } from '../helpers/api';
import { pollJob } from '../helpers/generation';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startFakeElevenLabs, type FakeElevenLabs } from '../fakes/elevenlabsServer';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openaiServer';

/**
 * What the speech engines are sent, seen at the fake providers through the whole stack: the
 * user's pronunciations (while scripts keep the original words), the style's instructions for
 * gpt-4o-mini-tts, and the same voice's neighbouring lines for ElevenLabs.
 */
const DEBATE_INSTRUCTIONS = 'Argue it out, briskly and with conviction.';

describe('what the speech engines hear', function () {
  this.timeout(240_000);
  let stack: TestStack;
  let openai: FakeOpenAi;
  let eleven: FakeElevenLabs;
  let script: Array<{ role: 'host' | 'guest'; text: string }> = [];

  before(async () => {
    openai = await startFakeOpenAi();
    eleven = await startFakeElevenLabs({ voices: ['21m00Tcm4TlvDq8ikWAM', 'pNInz6obpgDQGcFmaJgB'] });
    openai.setChatHandler(() => ({ lines: script }));
    stack = await startTestStack({
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: openai.url,
      OPENAI_TTS_MODEL: 'gpt-4o-mini-tts',
      OPENAI_TTS_INSTRUCTIONS_DEBATE: DEBATE_INSTRUCTIONS,
      ELEVENLABS_API_KEY: 'xi-test',
      ELEVENLABS_BASE_URL: eleven.url,
    });
  });
  after(async () => {
    await openai.close();
    await eleven.close();
  });
  beforeEach(() => {
    openai.reset();
    eleven.reset();
  });

  const speechRequests = () => openai.requests.filter((r) => r.path === '/v1/audio/speech');
  const setDictionary = async (token: string, items: Array<{ term: string; say: string }>) => {
    const res = await call(stack.url, 'PUT', '/v1/pronunciations', { token, body: { items } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const requestPodcast = async (token: string, body: Record<string, unknown>) => {
    const res = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: { sourceType: 'topic', sourceContent: 'Durable audio', targetDuration: 60, language: 'en-US', ...body },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body.podcast.id as string;
  };

  it("speaks a podcast with the user's pronunciations, keeps the script's words, and re-speaks only the lines a dictionary change affects", async () => {
    script = [
      { role: 'host', text: 'Welcome to a show about Kubernetes and AI.' },
      { role: 'guest', text: 'Thanks. I run PostgreSQL at work, not MySQL.' },
      { role: 'host', text: 'Does Temporal keep long jobs alive?' },
      { role: 'guest', text: 'Yes, and ffmpeg stitches the audio.' },
    ];
    const { token } = await registerUser(stack, 'say-podcast');
    await setDictionary(token, [
      { term: 'Kubernetes', say: 'koo-ber-net-eez' },
      { term: 'AI', say: 'A-I' },
    ]);
    // The last line is refused once, so the first run fails with the other lines spoken and kept.
    openai.faults.push({
      path: '/v1/audio/speech',
      when: (body) => String(body?.input).includes('ffmpeg'),
      status: 400,
      body: { error: { message: 'Refused once', type: 'invalid_request_error', code: null } },
    });
    const podcastId = await requestPodcast(token, { hostVoiceId: 'openai-alloy', guestVoiceId: 'openai-nova' });
    assert.equal((await pollJob(stack, token, podcastId)).job.status, 'failed');
    const first = speechRequests().map((r) => r.body.input as string);
    assert.ok(first.includes('Welcome to a show about koo-ber-net-eez and A-I.'), JSON.stringify(first));
    assert.ok(!first.some((t) => t.includes('Kubernetes')), 'the engine never hears the original word');

    const podcast = (await call(stack.url, 'GET', `/v1/podcasts/${podcastId}`, { token })).body;
    assert.deepEqual(
      podcast.script.map((l: { text: string }) => l.text),
      script.map((l) => l.text),
      'the script keeps the original words',
    );

    // A new entry that touches only line 1 ('MySQL' stays: whole words only).
    await setDictionary(token, [
      { term: 'Kubernetes', say: 'koo-ber-net-eez' },
      { term: 'AI', say: 'A-I' },
      { term: 'SQL', say: 'sequel' },
      { term: 'PostgreSQL', say: 'post-gres' },
    ]);
    openai.reset();
    const retry = await call(stack.url, 'POST', `/v1/podcasts/${podcastId}/generate`, { token });
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
    assert.equal((await pollJob(stack, token, podcastId)).job.status, 'completed');
    assert.deepEqual(
      speechRequests()
        .map((r) => r.body.input)
        .sort(),
      ['Thanks. I run post-gres at work, not MySQL.', 'Yes, and ffmpeg stitches the audio.'],
      'only the changed line and the line that had failed are spoken; the others are reused',
    );
  });

  it("speaks a text to speech with the user's pronunciations, and keeps the text as written", async () => {
    const { token } = await registerUser(stack, 'say-tts');
    await setDictionary(token, [
      { term: 'Kubernetes', say: 'koo-ber-net-eez' },
      { term: '声音', say: 'shēngyīn' },
    ]);
    const text = 'Kubernetes runs the 声音 studio.';
    const res = await call(stack.url, 'POST', '/v1/audios', { token, body: { text, voiceId: 'openai-alloy' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const audio = await eventually(
      async () => {
        const r = await call(stack.url, 'GET', `/v1/audios/${res.body.id}`, { token });
        return r.status === 200 ? r.body : undefined;
      },
      60_000,
      'the audio',
    );
    assert.equal(audio.status ?? 'completed', 'completed', JSON.stringify(audio));
    assert.equal(audio.text, text);
    assert.deepEqual(
      speechRequests().map((r) => [r.body.input, r.body.instructions]),
      [['koo-ber-net-eez runs the shēngyīn studio.', undefined]],
      'the say forms, and no podcast style instructions',
    );
  });

  it("tells gpt-4o-mini-tts how to speak the podcast's style", async () => {
    script = [
      { role: 'host', text: 'Should every podcast be two hours long?' },
      { role: 'guest', text: 'No. Length should follow the material.' },
      { role: 'host', text: 'Then who decides what the material holds?' },
    ];
    const { token } = await registerUser(stack, 'style');
    const podcastId = await requestPodcast(token, { style: 'debate', hostVoiceId: 'openai-echo', guestVoiceId: 'openai-shimmer' });
    assert.equal((await pollJob(stack, token, podcastId)).job.status, 'completed');
    const requests = speechRequests();
    assert.equal(requests.length, script.length);
    for (const r of requests) {
      assert.equal(r.body.model, 'gpt-4o-mini-tts');
      assert.equal(r.body.instructions, DEBATE_INSTRUCTIONS, 'the configured debate instructions');
    }
  });

  it("gives ElevenLabs each line's previous and next line of the same voice, as spoken with the dictionary of approval time", async () => {
    script = [
      { role: 'host', text: 'Welcome back.' },
      { role: 'guest', text: 'Glad to be here.' },
    ];
    const pro = await registerUser(stack, 'flow');
    await stack.knex('users').where({ id: pro.user.id }).update({ plan: 'pro', quota_limit: 18000 });
    const podcastId = await requestPodcast(pro.token, { review: true, hostVoiceId: 'eleven-rachel', guestVoiceId: 'eleven-adam' });
    await eventually(
      async () => ((await call(stack.url, 'GET', `/v1/podcasts/${podcastId}`, { token: pro.token })).body.status === 'draft' ? true : undefined),
      60_000,
      'the draft',
    );
    // Edited in review: the host speaks twice in a row, so "the same voice's previous line" is not simply two lines back.
    const edited = [
      { role: 'host', text: 'Welcome back to the show.' },
      { role: 'guest', text: 'Glad to be here again.' },
      { role: 'host', text: 'Today we talk about Kubernetes.' },
      { role: 'host', text: 'And about long jobs.' },
      { role: 'guest', text: 'My favourite topic.' },
      { role: 'host', text: 'Let us begin.' },
    ];
    const put = await call(stack.url, 'PUT', `/v1/podcasts/${podcastId}/script`, { token: pro.token, body: { script: edited } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    // Saved during review, after the job was requested: it still applies, being copied at approval.
    await setDictionary(pro.token, [{ term: 'Kubernetes', say: 'koo-ber-net-eez' }]);
    assert.equal((await call(stack.url, 'POST', `/v1/podcasts/${podcastId}/generate`, { token: pro.token })).status, 202);
    assert.equal((await pollJob(stack, pro.token, podcastId)).job.status, 'completed');

    const sent = new Map(eleven.requests.filter((r) => r.path.startsWith('/v1/text-to-speech/')).map((r) => [r.body.text as string, r.body]));
    const spoken = edited.map((l) => l.text.replace('Kubernetes', 'koo-ber-net-eez'));
    assert.deepEqual([...sent.keys()].sort(), [...spoken].sort(), 'each line spoken once, with its pronunciation');
    const context = spoken.map((text) => [sent.get(text)!.previous_text, sent.get(text)!.next_text]);
    assert.deepEqual(context, [
      [undefined, spoken[2]], // host: no earlier host line
      [undefined, spoken[4]], // guest
      [spoken[0], spoken[3]], // host; its own pronunciation applied in the neighbours' context too
      [spoken[2], spoken[5]], // host right after host
      [spoken[1], undefined], // the guest's last line
      [spoken[3], undefined], // the host's last line
    ]);
  });
});
