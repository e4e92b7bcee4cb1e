import path from 'node:path';
import { Context } from '@temporalio/activity';
import { lineDuration } from '../src/audio/duration';
import { stitch } from '../src/audio/ffmpeg';
import type { ProviderLanes } from '../src/capacity/providerLanes';
import { AUDIO_FINISHED_STATUSES, failAudioJob } from '../src/jobs/audioJob';
import type { AudioJob } from '../src/models';
import { resolveVoice } from '../src/providers';
import { jobPronunciations, snapshotJobPronunciations } from '../src/services/pronunciations';
import { audioJobKey, settleQuota } from '../src/services/quota';
import { chunkText } from '../src/sources/text';
import type { SegmentRef } from '../workflows/types';
import type { ActivityDeps } from './deps';
import { classified, invalid } from './failures';
import { webhookEmitter } from './webhooks';
import { assertWhole, contentTypeOf, localCopies, segmentHash, speakToStorage, withTempDir } from './speech';

const chunkPrefix = (audioId: string) => `audios/${audioId}/chunks/`;
const PAUSE_BETWEEN_CHUNKS_MS = 120;

/** Text to speech: the same machinery as podcasts, for one voice and a text split at sentences. */
export function createAudioActivities({ knex, storage, providers, config }: ActivityDeps, lanes: ProviderLanes) {
  // Jobs that end tell their owners' webhooks.
  const emitEvent = webhookEmitter({ knex, config });
  const pronunciationsOf = jobPronunciations(knex);
  const jobAndVoice = async (audioId: string) => {
    const job = await knex('audio_jobs').where({ id: audioId }).first();
    if (!job) throw invalid(`Audio ${audioId} no longer exists`, 'NOT_FOUND');
    const voiceRow = await knex('voices').where({ id: job.voice_id }).first();
    if (!voiceRow) throw invalid(`Unknown voice ${job.voice_id}`, 'TTS_UNKNOWN_VOICE');
    const language = voiceRow.language ?? 'zh-CN';
    const voice = resolveVoice(providers, voiceRow, language);
    // Split after the pronunciations are applied, so no chunk outgrows what the engine accepts;
    // the job's copy of the dictionary never changes, so every activity cuts the same chunks.
    const spoken = (await pronunciationsOf(audioId))(job.text);
    return { job, voice, language, chunks: chunkText(spoken, voice.provider.maxChars, language) };
  };

  return {
    async recordAudioStage(a: { audioId: string; status: AudioJob['status']; progress: number; currentStep: string }) {
      await knex('audio_jobs')
        .where({ id: a.audioId })
        .whereNotIn('status', AUDIO_FINISHED_STATUSES)
        .update({
          status: a.status,
          progress: knex.raw('GREATEST(progress, ?)', [a.progress]),
          current_step: a.currentStep.slice(0, 50),
          started_at: knex.raw('COALESCE(started_at, NOW())'),
        });
    },

    /** How many provider-sized chunks the text makes. */
    async planAudio(a: { audioId: string }): Promise<{ chunks: number; renderedLocally: boolean; concurrency: number }> {
      const owner = await knex('audio_jobs').where({ id: a.audioId }).first('user_id');
      if (owner) await snapshotJobPronunciations(knex, { jobId: a.audioId, userId: owner.user_id });
      const { chunks, voice } = await jobAndVoice(a.audioId);
      await knex('audio_jobs').where({ id: a.audioId }).update({ tts_provider: voice.provider.name });
      return {
        chunks: chunks.length,
        renderedLocally: voice.renderedLocally,
        concurrency: lanes.concurrencyFor([voice.provider.name], config.SYNTH_CONCURRENCY),
      };
    },

    async synthesizeAudioChunk(a: { audioId: string; index: number; total: number }): Promise<SegmentRef> {
      const { job, voice, language, chunks } = await jobAndVoice(a.audioId);
      const text = chunks[a.index];
      if (text === undefined) throw invalid(`Chunk ${a.index} does not exist`, 'INVALID_STATE');
      const hash = segmentHash({ text, voiceId: job.voice_id, speed: Number(job.speed), language, voice });
      const key = `${chunkPrefix(a.audioId)}${String(a.index).padStart(4, '0')}-${hash.slice(0, 32)}.${voice.format}`;
      let ref: SegmentRef;
      const stored = await storage.exists(key);
      if (stored) {
        // Re-measured rather than remembered: TTS chunks are few and short.
        const duration = await withTempDir(async (dir) => {
          const [p] = await localCopies(storage, [key], dir);
          if (!p) throw new Error(`No local copy of ${key}`);
          return lineDuration(p);
        });
        ref = { index: a.index, key, duration, chars: text.length, provider: voice.provider.name, apiCost: null };
      } else {
        const spoken = await classified(() =>
          speakToStorage(
            storage,
            {
              key,
              text,
              language,
              speed: Number(job.speed),
              voice,
              signal: Context.current().cancellationSignal,
              // The chunks around this one, so a long text reads on as one (ElevenLabs).
              previousText: chunks[a.index - 1],
              nextText: chunks[a.index + 1],
            },
            { lanes, ticket: { userId: job.user_id, jobId: job.id, jobCreatedAt: new Date(job.created_at), jobCap: config.SYNTH_CONCURRENCY ?? null } },
          ),
        );
        ref = { index: a.index, key, duration: spoken.duration, chars: spoken.characters, provider: voice.provider.name, apiCost: spoken.apiCost };
      }
      await knex('audio_jobs')
        .where({ id: a.audioId, status: 'synthesizing' })
        .update({ progress: knex.raw('GREATEST(progress, ?)', [10 + Math.floor((80 * (a.index + 1)) / a.total)]) });
      return ref;
    },

    async stitchAudio(a: { audioId: string; segments: SegmentRef[] }): Promise<{ key: string; duration: number; bytes: number; format: 'mp3' | 'wav' }> {
      const job = await knex('audio_jobs').where({ id: a.audioId }).first();
      if (!job) throw invalid(`Audio job ${a.audioId} no longer exists`, 'NOT_FOUND');
      const format: 'mp3' | 'wav' = job.audio_format === 'wav' ? 'wav' : 'mp3';
      const key = `audios/${a.audioId}/audio.${format}`;
      const ctx = Context.current();
      return withTempDir(async (dir) => {
        const paths = await localCopies(
          storage,
          a.segments.map((s) => s.key),
          dir,
        );
        const out = path.join(dir, `audio.${format}`);
        const pauses = paths.map((_, i) => (i === paths.length - 1 ? 0 : PAUSE_BETWEEN_CHUNKS_MS));
        const result = await stitch({
          segments: paths.map((p, i) => ({ path: p, pauseAfterMs: pauses[i]! })),
          outputPath: out,
          format,
          workDir: dir,
          signal: ctx.cancellationSignal,
          onProgress: (fraction) => ctx.heartbeat({ fraction }),
        });
        assertWhole(
          result.duration,
          a.segments.map((s) => s.duration),
          pauses,
        );
        await storage.putFile(key, out, contentTypeOf(format));
        return { key, duration: result.duration, bytes: result.bytes, format };
      });
    },

    /** One transaction: the audios row (same id as the job), one usage_logs row, the charge. */
    async completeAudio(a: { audioId: string; key: string; duration: number; bytes: number; format: 'mp3' | 'wav'; apiCost: number | null }) {
      await knex.transaction(async (trx) => {
        const job = await trx('audio_jobs').where({ id: a.audioId }).forUpdate().first();
        if (!job || job.status === 'completed' || job.status === 'failed') return;
        const duration = Math.round(a.duration * 100) / 100;
        const charged = await settleQuota(trx, audioJobKey(a.audioId), a.duration);
        await trx('audios').insert({
          id: a.audioId,
          user_id: job.user_id,
          title: job.title,
          text: job.text,
          text_length: job.text_length,
          voice_id: job.voice_id,
          audio_url: storage.uri(a.key),
          audio_format: a.format,
          duration,
          file_size: a.bytes,
          speed: job.speed,
          emotion: job.emotion,
          type: 'tts',
        });
        if (charged !== null) {
          await trx('usage_logs').insert({
            user_id: job.user_id,
            type: 'tts',
            chars_used: job.text_length,
            duration_used: duration,
            audio_id: a.audioId,
            provider: job.tts_provider,
            api_cost: a.apiCost,
          });
        }
        await trx('audio_jobs').where({ id: a.audioId }).update({ status: 'completed', progress: 100, current_step: 'Done', completed_at: trx.fn.now() });
      });
      await emitEvent({ type: 'audio.completed', audioId: a.audioId });
      await storage.deletePrefix(chunkPrefix(a.audioId));
    },

    async failAudio(a: { audioId: string; code: string; message: string }) {
      await failAudioJob(knex, a);
      await emitEvent({ type: 'audio.failed', audioId: a.audioId });
      await storage.deletePrefix(chunkPrefix(a.audioId));
    },
  };
}
