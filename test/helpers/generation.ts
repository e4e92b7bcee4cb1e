import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { probeDuration } from '../../src/audio/ffmpeg';
import { call } from './api';
import { eventually, type TestStack } from './stack';

export const ARTICLE_ZH_EN = [
  '人工智能正在改变我们制作音频内容的方式。过去，录制一期播客需要主持人、嘉宾和录音棚。',
  '现在，一段文字就可以变成两个人的对话。Text can become a conversation between two voices.',
  '这项技术的关键在于可靠性：长时间的生成任务不能因为服务器重启而丢失。Durable workflows make that possible.',
  '最后，成本必须透明，每一秒音频只收费一次。Every second of audio is charged exactly once.',
].join('\n\n');

export const SEED_STATUS_ORDER = ['pending', 'analyzing', 'scripting', 'synthesizing', 'processing', 'completed'];

/** Polls the job until it ends, recording every distinct snapshot a client would have seen. */
export async function pollJob(stack: TestStack, token: string, podcastId: string, timeoutMs = 120_000) {
  const seen: Array<{ status: string; progress: number }> = [];
  const job = await eventually(
    async () => {
      const r = await call(stack.url, 'GET', `/v1/podcasts/${podcastId}/job`, { token });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const last = seen[seen.length - 1];
      if (!last || last.status !== r.body.status || last.progress !== r.body.progress) seen.push({ status: r.body.status, progress: r.body.progress });
      return ['completed', 'failed', 'canceled'].includes(r.body.status) ? r.body : undefined;
    },
    timeoutMs,
    `podcast ${podcastId} to finish`,
  );
  return { job, seen };
}

export function assertMonotonicProgress(seen: Array<{ status: string; progress: number }>) {
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.progress >= seen[i - 1]!.progress, `progress went down: ${JSON.stringify(seen)}`);
  const order = seen.map((s) => SEED_STATUS_ORDER.indexOf(s.status));
  for (let i = 1; i < order.length; i++) assert.ok(order[i]! >= order[i - 1]!, `statuses out of order: ${JSON.stringify(seen)}`);
}

/** Downloads an audio file over HTTP and measures it by decoding. */
export async function downloadedDuration(url: string, token: string | undefined, ext: string) {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  assert.equal(res.status, 200);
  const bytes = Buffer.from(await res.arrayBuffer());
  const file = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'aimake-dl-')), `file.${ext}`);
  await fs.writeFile(file, bytes);
  try {
    return { duration: await probeDuration(file), bytes, contentType: res.headers.get('content-type') };
  } finally {
    await fs.rm(path.dirname(file), { recursive: true, force: true });
  }
}

/** The job statuses the workflow mirrored into the database, in order, from its recorded history. */
export async function mirroredStatuses(stack: TestStack, workflowId: string): Promise<string[]> {
  const client = await stack.temporal.client();
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const statuses: string[] = [];
  for (const e of history.events ?? []) {
    const a = e.activityTaskScheduledEventAttributes;
    if (a?.activityType?.name !== 'recordPodcastStage') continue;
    const input = JSON.parse(Buffer.from(a.input!.payloads![0]!.data!).toString('utf8'));
    statuses.push(input.status);
  }
  return statuses;
}

/** Requests a topic podcast with OpenAI voices (its script comes from the fake's chat handler) and returns its id. */
export async function startTopicPodcast(stack: TestStack, token: string, topic = 'A topic', targetDuration = 120): Promise<string> {
  const r = await call(stack.url, 'POST', '/v1/podcasts', {
    token,
    body: { sourceType: 'topic', sourceContent: topic, targetDuration, language: 'en-US', hostVoiceId: 'openai-alloy', guestVoiceId: 'openai-nova' },
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return r.body.podcast.id as string;
}
