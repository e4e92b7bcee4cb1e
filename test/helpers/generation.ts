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

/**
 * A long Markdown article of plain, varied sentences (no facts worth checking) in English or
 * Chinese: `sections` headed sections of `sentences` sentences each, in paragraphs of five.
 */
export function longArticle(language: 'en' | 'zh', sections: number, sentences: number): string {
  const en = {
    who: ['the engineer', 'a listener', 'the producer', 'our neighbour', 'the old radio club', 'a young reporter', 'the night editor'],
    did: ['recorded', 'described', 'repaired', 'carried', 'explained', 'found', 'measured'],
    what: ['a quiet tape machine', 'the morning weather report', 'a long interview', 'three small microphones', 'the station archive', 'a letter from abroad'],
    where: ['near the harbour', 'in the basement studio', 'before the evening news', 'after a long rain', 'on the second floor', 'during the holiday'],
  };
  const zh = {
    who: ['工程师', '一位听众', '制作人', '我们的邻居', '老广播俱乐部', '年轻的记者', '夜班编辑'],
    did: ['录下了', '描述了', '修好了', '带来了', '解释了', '找到了', '测量了'],
    what: ['一台安静的录音机', '早晨的天气预报', '一段很长的采访', '三只小话筒', '电台的档案', '一封远方的来信'],
    where: ['在港口附近', '在地下录音室里', '在晚间新闻之前', '在一场大雨之后', '在二楼', '在假期里'],
  };
  const w = language === 'zh' ? zh : en;
  const at = <T>(list: T[], i: number) => list[i % list.length]!;
  const parts: string[] = [];
  for (let k = 0; k < sections; k++) {
    parts.push(language === 'zh' ? `## 第${k + 1}部分` : `## Part ${k + 1}`);
    const paragraphs: string[] = [];
    for (let i = 0; i < sentences; i++) {
      const n = k * sentences + i;
      const sentence =
        language === 'zh'
          ? `${at(w.where, n * 5 + k)}，${at(w.who, n)}${at(w.did, n * 3 + 1)}${at(w.what, n * 7 + 2)}（记录${n + 1}）。`
          : `${at(w.where, n * 5 + k).replace(/^./, (c) => c.toUpperCase())}, ${at(w.who, n)} ${at(w.did, n * 3 + 1)} ${at(w.what, n * 7 + 2)} (note ${n + 1}).`;
      if (i % 5 === 0) paragraphs.push('');
      paragraphs[paragraphs.length - 1] += (language === 'zh' || i % 5 === 0 ? '' : ' ') + sentence;
    }
    parts.push(...paragraphs);
  }
  return parts.join('\n\n');
}
