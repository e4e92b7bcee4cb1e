import fs from 'node:fs/promises';
import path from 'node:path';
import { Context, heartbeat } from '@temporalio/activity';
import { stitch } from '../src/audio/ffmpeg';
import type { ScriptLine as DbScriptLine } from '../src/models';
import { resolveVoice } from '../src/providers';
import { podcastJobKey, adjustReservation, releaseQuota, settleQuota } from '../src/services/quota';
import { writeLlmScript, type ScriptProgress } from '../src/services/scriptWriter';
import { writeLocalScript } from '../src/sources/localScriptWriter';
import { estimateSpeechSeconds, normaliseText } from '../src/sources/text';
import { fetchReadableText } from '../src/sources/url';
import type { JobStatus, SegmentRef } from '../workflows/types';
import type { ActivityDeps } from '.';
import { classified, invalid } from './failures';
import { contentTypeOf, localCopies, segmentHash, speakToStorage, withTempDir } from './speech';

const TERMINAL: JobStatus[] = ['completed', 'failed', 'canceled'];
const sourceKey = (podcastId: string) => `podcasts/${podcastId}/source.txt`;
const segmentPrefix = (podcastId: string) => `podcasts/${podcastId}/segments/`;
const PAUSE_BETWEEN_TURNS_MS = 450;
const PAUSE_SAME_SPEAKER_MS = 200;

export function createPodcastActivities({ knex, storage, providers, config }: ActivityDeps) {
  const podcastRow = async (podcastId: string) => {
    const p = await knex('podcasts').where({ id: podcastId }).first();
    if (!p) throw invalid(`Podcast ${podcastId} no longer exists`, 'NOT_FOUND');
    return p;
  };

  const readSource = async (podcastId: string) =>
    withTempDir(async (dir) => {
      const file = path.join(dir, 'source.txt');
      await storage.getFile(sourceKey(podcastId), file);
      return fs.readFile(file, 'utf8');
    });

  return {
    /** Mirrors a stage into podcast_jobs and podcasts; progress never goes down. */
    async recordPodcastStage(a: { podcastId: string; jobId: string; status: JobStatus; progress: number; currentStep: string }) {
      await knex.transaction(async (trx) => {
        const n = await trx('podcast_jobs')
          .where({ id: a.jobId })
          .whereNotIn('status', TERMINAL)
          .update({
            status: a.status,
            progress: trx.raw('GREATEST(progress, ?)', [a.progress]),
            current_step: a.currentStep.slice(0, 50),
            started_at: trx.raw('COALESCE(started_at, NOW())'),
          });
        if (n) await trx('podcasts').where({ id: a.podcastId }).update({ status: 'processing', updated_at: trx.fn.now() });
      });
    },

    /** analyzing: the source as clean text, kept in storage for the script writer. */
    async analyzePodcastSource(a: { podcastId: string; jobId: string }): Promise<{ chars: number }> {
      const p = await podcastRow(a.podcastId);
      return classified(async () => {
        let text: string;
        if (p.source_type === 'url') {
          const page = await fetchReadableText(p.source_content, {
            allowLoopback: config.SOURCE_ALLOW_LOOPBACK,
            maxBytes: config.SOURCE_MAX_BYTES,
            timeoutMs: config.SOURCE_TIMEOUT_MS,
            signal: Context.current().cancellationSignal,
          });
          text = page.text;
          if (!p.title && page.title) await knex('podcasts').where({ id: p.id }).update({ title: page.title.slice(0, 200) });
        } else if (p.source_type === 'topic') {
          if (!providers.llm) throw invalid('A topic needs an LLM: set OPENAI_API_KEY', 'LLM_NOT_CONFIGURED');
          text = normaliseText(p.source_content);
        } else {
          text = normaliseText(p.source_content);
        }
        if (!text) throw invalid('The source has no readable text', 'SOURCE_EMPTY');
        text = text.slice(0, config.PODCAST_MAX_SOURCE_CHARS);
        await withTempDir(async (dir) => {
          const file = path.join(dir, 'source.txt');
          await fs.writeFile(file, text);
          await storage.putFile(sourceKey(p.id), file, 'text/plain; charset=utf-8');
        });
        return { chars: text.length };
      });
    },

    /** scripting: an LLM when configured, else the local script writer. Saved to podcasts.script. */
    async writePodcastScript(a: { podcastId: string; jobId: string }): Promise<{ lines: number }> {
      const p = await podcastRow(a.podcastId);
      const text = await readSource(p.id);
      const ctx = Context.current();
      const lines: DbScriptLine[] = await classified(async () => {
        if (providers.llm) {
          const draft = await writeLlmScript(
            providers.llm,
            { title: p.title, sourceType: p.source_type, sourceText: text, language: p.language, style: p.style, targetDurationSec: p.target_duration },
            {
              resume: ctx.info.heartbeatDetails as ScriptProgress | undefined,
              onProgress: (progress) => heartbeat(progress),
              signal: ctx.cancellationSignal,
            },
          );
          return draft.map((l) => ({ role: l.role, text: l.text, voice_id: l.role === 'host' ? p.host_voice_id : p.guest_voice_id }));
        }
        return writeLocalScript({
          title: p.title,
          text,
          language: p.language,
          targetDurationSec: p.target_duration,
          hostVoiceId: p.host_voice_id,
          guestVoiceId: p.guest_voice_id,
          style: p.style,
        }).map((l) => ({ role: l.role, text: l.text, voice_id: l.voiceId }));
      });
      await knex('podcasts').where({ id: p.id }).update({ script: JSON.stringify(lines), updated_at: knex.fn.now() });
      return { lines: lines.length };
    },

    /** A review run parks here: the podcast shows as draft until its script is approved. */
    async markPodcastDraft(a: { podcastId: string; jobId: string }) {
      await knex.transaction(async (trx) => {
        await trx('podcasts').where({ id: a.podcastId }).update({ status: 'draft', updated_at: trx.fn.now() });
        await trx('podcast_jobs').where({ id: a.jobId }).whereNotIn('status', TERMINAL).update({ current_step: 'Waiting for script approval' });
      });
    },

    /** Sizes the job's quota reservation to the script that will be spoken. */
    async planPodcastSynthesis(a: { podcastId: string; jobId: string }): Promise<{ lines: number; estimatedSeconds: number }> {
      const p = await podcastRow(a.podcastId);
      const script: DbScriptLine[] = p.script ?? [];
      if (script.length === 0) throw invalid('The podcast has no script to speak', 'SCRIPT_EMPTY');
      const estimatedSeconds = Math.ceil(script.reduce((s, l) => s + estimateSpeechSeconds(l.text, p.language), 0));
      await classified(() => adjustReservation(knex, podcastJobKey(a.jobId), estimatedSeconds));
      return { lines: script.length, estimatedSeconds };
    },

    /** synthesizing: one line, reused when the same text, voice and speed were spoken before. */
    async synthesizePodcastLine(a: { podcastId: string; jobId: string; index: number; total: number }): Promise<SegmentRef> {
      const row = await knex('podcasts').where({ id: a.podcastId }).first(knex.raw('script -> ?::int AS line', [a.index]), 'language');
      const line = row?.line as DbScriptLine | null;
      if (!line) throw invalid(`Line ${a.index} is missing from the script`, 'SCRIPT_CHANGED');
      const voiceRow = await knex('voices').where({ id: line.voice_id }).first();
      if (!voiceRow) throw invalid(`Unknown voice ${line.voice_id}`, 'TTS_UNKNOWN_VOICE');
      const voice = resolveVoice(providers, voiceRow, row.language);
      const hash = segmentHash({ text: line.text, voiceId: line.voice_id, speed: 1, language: row.language, voice });
      const key = `${segmentPrefix(a.podcastId)}${String(a.index).padStart(5, '0')}-${hash.slice(0, 32)}.${voice.format}`;

      const existing = await knex('podcast_segments').where({ podcast_id: a.podcastId, line_index: a.index, text_hash: hash }).first();
      let ref: SegmentRef;
      if (existing && (await storage.exists(existing.storage_key))) {
        ref = { index: a.index, key: existing.storage_key, duration: existing.duration, chars: existing.chars, provider: existing.provider, apiCost: existing.api_cost };
      } else {
        const spoken = await classified(() =>
          speakToStorage(storage, { key, text: line.text, language: row.language, speed: 1, voice, signal: Context.current().cancellationSignal }),
        );
        ref = { index: a.index, key, duration: spoken.duration, chars: spoken.characters, provider: voice.provider.name, apiCost: spoken.apiCost };
      }
      await knex('podcast_segments')
        .insert({
          podcast_id: a.podcastId,
          line_index: a.index,
          text_hash: hash,
          storage_key: ref.key,
          duration: ref.duration,
          chars: ref.chars,
          provider: ref.provider,
          api_cost: ref.apiCost,
          job_id: a.jobId,
        })
        .onConflict(['podcast_id', 'line_index', 'text_hash'])
        .merge(['job_id', 'storage_key', 'duration']);
      await knex.raw(
        `WITH done AS (SELECT count(*)::int AS n FROM podcast_segments WHERE job_id = :job)
         UPDATE podcast_jobs SET progress = GREATEST(progress, 15 + (75 * done.n / :total)::int),
                current_step = 'Synthesizing line ' || done.n || ' of ' || :total
         FROM done WHERE id = :job AND status = 'synthesizing'`,
        { job: a.jobId, total: a.total },
      );
      return ref;
    },

    /** processing: stitch every line with pauses between turns, normalise, upload the MP3. */
    async stitchPodcast(a: { podcastId: string; jobId: string; segments: SegmentRef[] }): Promise<{ key: string; duration: number; bytes: number }> {
      const rolesRow = await knex('podcasts').where({ id: a.podcastId }).first(knex.raw(`jsonb_path_query_array(script, '$[*].role') AS roles`));
      const roles: string[] = rolesRow?.roles ?? [];
      const ctx = Context.current();
      const key = `podcasts/${a.podcastId}/podcast-${a.jobId}.mp3`;
      return withTempDir(async (dir) => {
        const paths = await localCopies(storage, a.segments.map((s) => s.key), dir);
        let lastBeat = 0;
        const out = path.join(dir, 'podcast.mp3');
        const result = await stitch({
          segments: paths.map((p, i) => ({
            path: p,
            pauseAfterMs: i === paths.length - 1 ? 0 : roles[i] !== roles[i + 1] ? PAUSE_BETWEEN_TURNS_MS : PAUSE_SAME_SPEAKER_MS,
          })),
          outputPath: out,
          format: 'mp3',
          workDir: dir,
          signal: ctx.cancellationSignal,
          onProgress: (fraction) => {
            ctx.heartbeat({ fraction });
            if (Date.now() - lastBeat < 2000) return;
            lastBeat = Date.now();
            void knex('podcast_jobs')
              .where({ id: a.jobId, status: 'processing' })
              .update({ progress: knex.raw('GREATEST(progress, ?)', [90 + Math.floor(fraction * 9)]), current_step: `Stitching audio (${Math.round(fraction * 100)}%)` })
              .catch(() => undefined);
          },
        });
        await storage.putFile(key, out, contentTypeOf('mp3'));
        return { key, duration: result.duration, bytes: result.bytes };
      });
    },

    /**
     * completed, in one transaction: the podcast's audio, an audios row, one usage_logs row and the
     * quota charge. A second call finds the job completed and changes nothing.
     */
    async completePodcast(a: { podcastId: string; jobId: string; audioKey: string; duration: number; bytes: number }) {
      await knex.transaction(async (trx) => {
        const job = await trx('podcast_jobs').where({ id: a.jobId }).forUpdate().first();
        if (!job || TERMINAL.includes(job.status)) return; // completed already, or canceled meanwhile
        const p = await trx('podcasts').where({ id: a.podcastId }).forUpdate().first();
        const script: DbScriptLine[] = p.script ?? [];
        const seg = await trx('podcast_segments')
          .where({ job_id: a.jobId })
          .first(trx.raw('COALESCE(SUM(api_cost), 0) AS cost'), trx.raw('array_agg(DISTINCT provider) AS providers'));
        const providerNames: string[] = seg?.providers?.filter(Boolean) ?? [];
        const provider = providerNames.length === 1 ? providerNames[0] : providerNames.length ? 'mixed' : null;
        const text = script.map((l) => l.text).join('\n');
        const duration = Math.round(a.duration * 100) / 100; // NUMERIC(10,2) columns
        const audioUrl = storage.uri(a.audioKey);

        const charged = await settleQuota(trx, podcastJobKey(a.jobId), a.duration);
        await trx('podcasts').where({ id: a.podcastId }).update({
          audio_url: audioUrl,
          duration,
          status: 'completed',
          tts_provider: provider,
          updated_at: trx.fn.now(),
        });
        const [audio] = await trx('audios')
          .insert({
            user_id: p.user_id,
            title: p.title,
            text,
            text_length: text.length,
            voice_id: p.host_voice_id,
            audio_url: audioUrl,
            audio_format: 'mp3',
            duration,
            file_size: a.bytes,
            type: 'podcast',
          })
          .returning('id');
        if (charged !== null) {
          await trx('usage_logs').insert({
            user_id: p.user_id,
            type: 'podcast',
            chars_used: text.length,
            duration_used: duration,
            audio_id: audio.id,
            podcast_id: p.id,
            provider,
            api_cost: Number(seg?.cost ?? 0),
          });
        }
        await trx('podcast_jobs').where({ id: a.jobId }).update({ status: 'completed', progress: 100, current_step: 'Done', completed_at: trx.fn.now() });
      });
    },

    /** failed: the job records why; the reservation is released; lines already spoken stay for a retry. */
    async failPodcast(a: { podcastId: string; jobId: string; code: string; message: string }) {
      await knex.transaction(async (trx) => {
        const n = await trx('podcast_jobs')
          .where({ id: a.jobId })
          .whereNotIn('status', TERMINAL)
          .update({ status: 'failed', error_code: a.code.slice(0, 50), error_message: a.message, completed_at: trx.fn.now() });
        if (n) await trx('podcasts').where({ id: a.podcastId }).update({ status: 'failed', updated_at: trx.fn.now() });
        await releaseQuota(trx, podcastJobKey(a.jobId));
      });
    },

    /** canceled: nothing is charged and the partial audio is removed. */
    async cancelPodcast(a: { podcastId: string; jobId: string }) {
      await knex.transaction(async (trx) => {
        const n = await trx('podcast_jobs')
          .where({ id: a.jobId })
          .whereNotIn('status', TERMINAL)
          .update({ status: 'canceled', current_step: 'Canceled', completed_at: trx.fn.now() });
        if (n) await trx('podcasts').where({ id: a.podcastId }).update({ status: 'canceled', updated_at: trx.fn.now() });
        await releaseQuota(trx, podcastJobKey(a.jobId));
        await trx('podcast_segments').where({ podcast_id: a.podcastId }).delete();
      });
      await storage.deletePrefix(segmentPrefix(a.podcastId));
      await storage.delete(`podcasts/${a.podcastId}/podcast-${a.jobId}.mp3`);
    },
  };
}
