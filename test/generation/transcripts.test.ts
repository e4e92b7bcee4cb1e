import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { call, registerUser } from '../helpers/api';
import { downloadedDuration, longArticle, pollJob } from '../helpers/generation';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openaiServer';

interface Cue {
  start: number;
  end: number;
  speaker: string;
  text: string;
}

const seconds = (t: string) => {
  const [h, m, s] = t.replace(',', '.').split(':');
  return Math.round((Number(h) * 3600 + Number(m) * 60 + Number(s)) * 1000) / 1000;
};

function parseVtt(vtt: string): Cue[] {
  assert.match(vtt, /^WEBVTT\n\n/);
  return vtt
    .trim()
    .split(/\n\n/)
    .slice(1)
    .map((block) => {
      const [, times, text] = block.split('\n');
      const [from, to] = times!.split(' --> ');
      const m = /^<v ([^>]+)>(.*)<\/v>$/.exec(text!);
      assert.ok(m, `cue text with a voice tag: ${text}`);
      return { start: seconds(from!), end: seconds(to!), speaker: m[1]!, text: m[2]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&') };
    });
}

function parseSrt(srt: string): Cue[] {
  return srt
    .trim()
    .split(/\n\n/)
    .map((block, i) => {
      const [n, times, text] = block.split('\n');
      assert.equal(Number(n), i + 1);
      const [from, to] = times!.split(' --> ');
      const colon = text!.indexOf(': ');
      return { start: seconds(from!), end: seconds(to!), speaker: text!.slice(0, colon), text: text!.slice(colon + 2) };
    });
}

async function download(url: string, token?: string): Promise<string> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  assert.equal(res.status, 200);
  const file = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'aimake-tags-')), 'podcast.mp3');
  await fs.writeFile(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

/** Timed transcripts, chapters and ID3 tags of a finished podcast (issue 11, items 1 and 2). */
describe('transcripts and chapters', function () {
  this.timeout(240_000);
  // The offline defaults (local writer, espeak-ng), and a stack with an OpenAI-compatible provider.
  let stack: TestStack;
  let providerStack: TestStack;
  let openai: FakeOpenAi;

  before(async () => {
    openai = await startFakeOpenAi();
    stack = await startTestStack();
    providerStack = await startTestStack({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, ELEVENLABS_API_KEY: '' });
  });
  after(async () => {
    await openai.close();
  });

  async function checkTranscript(token: string, podcastId: string, on: TestStack = stack) {
    const stack = on;
    const podcast = (await call(stack.url, 'GET', `/v1/podcasts/${podcastId}`, { token })).body;
    const file = await downloadedDuration(stack.url + podcast.audioUrl, token, 'mp3');

    const vttRes = await fetch(`${stack.url}/v1/podcasts/${podcastId}/transcript`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(vttRes.status, 200);
    assert.match(vttRes.headers.get('content-type')!, /^text\/vtt; charset=utf-8/);
    const vtt = parseVtt(await vttRes.text());
    assert.equal(vtt.length, podcast.script.length, 'one cue per script line');
    vtt.forEach((c, i) => {
      assert.ok(c.end > c.start, `cue ${i} has a length`);
      if (i > 0) assert.ok(c.start >= vtt[i - 1]!.end, `cue ${i} starts after cue ${i - 1} ends`);
      assert.equal(c.text, podcast.script[i].text);
    });
    assert.ok(Math.abs(vtt[vtt.length - 1]!.end - file.duration) <= 0.5, `last cue ends at ${vtt[vtt.length - 1]!.end}, audio lasts ${file.duration}`);

    const srtRes = await fetch(`${stack.url}/v1/podcasts/${podcastId}/transcript?format=srt`, { headers: { authorization: `Bearer ${token}` } });
    assert.match(srtRes.headers.get('content-type')!, /^application\/x-subrip; charset=utf-8/);
    assert.deepEqual(parseSrt(await srtRes.text()), vtt, 'SRT agrees with VTT');
    const json = (await call(stack.url, 'GET', `/v1/podcasts/${podcastId}/transcript?format=json`, { token })).body;
    assert.equal(json.podcastId, podcastId);
    assert.deepEqual(
      json.lines.map((l: Cue) => ({ start: l.start, end: l.end, speaker: l.speaker, text: l.text })),
      vtt,
      'JSON agrees with VTT (to the millisecond)',
    );
    json.lines.forEach((l: { index: number; role: string; voiceId: string }, i: number) => {
      assert.equal(l.index, i);
      assert.equal(l.role, podcast.script[i].role);
      assert.equal(l.voiceId, podcast.script[i].voiceId);
    });
    return { podcast, vtt, duration: file.duration };
  }

  it('gives local-voice podcasts a transcript, chapters per section and ID3 chapter frames', async () => {
    const { token } = await registerUser(stack, 'transcript-local');
    const res = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: {
        title: 'Stories <of> radio & more',
        sourceType: 'text',
        sourceContent: longArticle('en', 3, 6),
        targetDuration: 120,
        language: 'en-US',
        hostVoiceId: 'local-en-female',
        guestVoiceId: 'local-en-male',
      },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = res.body.podcast.id as string;
    const early = await call(stack.url, 'GET', `/v1/podcasts/${id}/transcript`, { token });
    assert.ok([409, 200].includes(early.status));
    const { job } = await pollJob(stack, token, id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    const { vtt, duration, podcast } = await checkTranscript(token, id);
    assert.deepEqual([...new Set(vtt.map((c) => c.speaker))].sort(), ['Local English (female)', 'Local English (male)'], 'cues carry the voices’ names');

    const chaptersRes = await fetch(`${stack.url}/v1/podcasts/${id}/chapters`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(chaptersRes.status, 200);
    assert.match(chaptersRes.headers.get('content-type')!, /^application\/json\+chapters/);
    const chapters = (await chaptersRes.json()) as { version: string; chapters: Array<{ startTime: number; title: string }> };
    assert.equal(chapters.version, '1.2.0');
    assert.deepEqual(
      chapters.chapters.map((c) => c.title),
      ['Part 1', 'Part 2', 'Part 3'],
      'one chapter per section of the source',
    );
    assert.equal(chapters.chapters[0]!.startTime, 0);
    chapters.chapters.forEach((c, i) => {
      if (i > 0) assert.ok(c.startTime > chapters.chapters[i - 1]!.startTime);
      assert.ok(c.startTime < duration);
      // A chapter starts where its section's first line does.
      assert.ok(vtt.some((cue) => Math.abs(cue.start - c.startTime) < 0.001) || c.startTime === 0);
    });

    // The MP3 carries them too: title, the voices as artist, CHAP frames under a CTOC.
    const mp3 = await download(stack.url + podcast.audioUrl, token);
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_chapters', '-show_format', '-of', 'json', mp3], { encoding: 'utf8' })) as {
      chapters: Array<{ start_time: string; end_time: string; tags: { title: string } }>;
      format: { tags: Record<string, string> };
    };
    await fs.rm(path.dirname(mp3), { recursive: true, force: true });
    assert.deepEqual(
      probe.chapters.map((c) => c.tags.title),
      ['Part 1', 'Part 2', 'Part 3'],
    );
    probe.chapters.forEach((c, i) => assert.ok(Math.abs(Number(c.start_time) - chapters.chapters[i]!.startTime) < 0.01));
    assert.equal(probe.format.tags.title, 'Stories <of> radio & more');
    assert.match(probe.format.tags.artist!, /Local English \(female\)/);

    // Someone else: 404; once the audio is public, anyone (no auth) may read transcript and chapters.
    const other = await registerUser(stack, 'transcript-other');
    assert.equal((await call(stack.url, 'GET', `/v1/podcasts/${id}/transcript`, { token: other.token })).status, 404);
    assert.equal((await call(stack.url, 'GET', `/v1/podcasts/${id}/chapters`)).status, 404);
    const audioId = (await call(stack.url, 'GET', '/v1/audios?type=podcast', { token })).body.items[0].id;
    assert.equal((await call(stack.url, 'PATCH', `/v1/audios/${audioId}`, { token, body: { isPublic: true } })).status, 200);
    assert.equal((await call(stack.url, 'GET', `/v1/podcasts/${id}/chapters`)).status, 200);
    assert.equal((await fetch(`${stack.url}/v1/podcasts/${id}/transcript?format=srt`)).status, 200);
    assert.equal((await call(stack.url, 'GET', `/v1/podcasts/${id}/transcript?format=doc`, { token })).status, 400);
  });

  it('gives provider-voice podcasts a transcript whose last cue ends with the audio', async () => {
    openai.setChatHandler(() => ({
      lines: Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? 'guest' : 'host', text: `Line ${i + 1} of a provider podcast, said clearly.` })),
    }));
    const { token } = await registerUser(providerStack, 'transcript-openai');
    const res = await call(providerStack.url, 'POST', '/v1/podcasts', {
      token,
      body: { sourceType: 'topic', sourceContent: 'Radio', targetDuration: 60, language: 'en-US', hostVoiceId: 'openai-alloy', guestVoiceId: 'openai-nova' },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const { job } = await pollJob(providerStack, token, res.body.podcast.id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    await checkTranscript(token, res.body.podcast.id, providerStack);
    const chapters = (await call(providerStack.url, 'GET', `/v1/podcasts/${res.body.podcast.id}/chapters`, { token })).body;
    assert.equal(chapters.chapters.length, 1, 'a script without sections is one chapter');
  });

  it('answers 409 while the podcast has no audio', async () => {
    const { token } = await registerUser(stack, 'transcript-draft');
    const res = await call(stack.url, 'POST', '/v1/podcasts', {
      token,
      body: {
        sourceType: 'text',
        sourceContent: 'One sentence. Two sentences.',
        targetDuration: 60,
        language: 'en-US',
        hostVoiceId: 'local-en-female',
        guestVoiceId: 'local-en-male',
        review: true,
      },
    });
    const id = res.body.podcast.id as string;
    const transcript = await call(stack.url, 'GET', `/v1/podcasts/${id}/transcript`, { token });
    assert.equal(transcript.status, 409, JSON.stringify(transcript.body));
    assert.equal(transcript.body.error.code, 'CONFLICT');
  });
});
