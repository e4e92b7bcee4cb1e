import fs from 'node:fs/promises';
import path from 'node:path';
import { Context, heartbeat } from '@temporalio/activity';
import { lineDuration } from '../src/audio/duration';
import { stitch, tagMp3 } from '../src/audio/ffmpeg';
import { chaptersOf } from '../src/publishing/transcripts';
import { endJob, lineProgressRecorder, lockUnfinishedJob, markCompleted, markDraft, recordProgress, recordStage } from '../src/jobs/podcastJob';
import { removeSegmentsIfExpired, segmentPrefix } from '../src/jobs/podcastSegments';
import type { ProviderLanes } from '../src/capacity/providerLanes';
import { jsonb } from '../src/db';
import type { ScriptLine as DbScriptLine, Podcast, PodcastSegment, TimelineEntry, Voice } from '../src/models';
import { resolveVoice } from '../src/providers';
import { writeLlmScript, type ScriptProgress } from '../src/script/llmWriter';
import { writeLocalScript, type ScriptStyle } from '../src/script/localWriter';
import { lineSeconds, pausesAfter, scaledRate, scriptSeconds, speakingRateOf, type ScriptPace } from '../src/script/pace';
import { documentText, sourceDocument } from '../src/sources/markdown';
import { jobPronunciations, snapshotJobPronunciations } from '../src/services/pronunciations';
import { adjustReservation, podcastJobKey, settleQuota } from '../src/services/quota';
import { readUploadedDocument } from '../src/services/uploads';
import { normaliseText } from '../src/sources/text';
import { fetchReadableText } from '../src/sources/url';
import type { JobStatus, SegmentRef } from '../workflows/types';
import type { ActivityDeps } from './deps';
import { classified, invalid } from './failures';
import { webhookEmitter } from './webhooks';
import { assertWhole, contentTypeOf, localCopies, segmentHash, speakToStorage, withTempDir } from './speech';

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const sourceKey = (podcastId: string) => `podcasts/${podcastId}/source.txt`;
/** The length loop stops once the podcast is this close to its target (the promise is ±10 %). */
const LENGTH_TOLERANCE = 0.05;
/** Lines looked at on each side of a line for its voice's previous and next line (ElevenLabs context). */
const NEARBY_LINES = 6;

/** A line of the script with what speaking it needs (see synthesizePodcastLine). */
interface LineRow {
  line: DbScriptLine | null;
  language: string;
  user_id: string;
  style: string;
  /** Lines from max(0, index - NEARBY_LINES) to index + NEARBY_LINES. */
  nearby: DbScriptLine[];
  job_created_at: Date | null;
  voice: Pick<Voice, 'id' | 'provider' | 'gender' | 'language'> | null;
  segments: Array<Pick<PodcastSegment, 'text_hash' | 'storage_key' | 'duration' | 'chars' | 'provider' | 'api_cost'>> | null;
}

export function createPodcastActivities({ knex, storage, providers, config, logger }: ActivityDeps, lanes: ProviderLanes) {
  // Jobs that end tell their owners' webhooks.
  const emitEvent = webhookEmitter({ knex, config });
  const podcastRow = async (podcastId: string) => {
    const p = await knex('podcasts').where({ id: podcastId }).first();
    if (!p) throw invalid(`Podcast ${podcastId} no longer exists`, 'NOT_FOUND');
    return p;
  };

  const recordLineDone = lineProgressRecorder(knex);
  const pronunciationsOf = jobPronunciations(knex);

  const voicesOf = (p: Podcast) => {
    if (!p.host_voice_id || !p.guest_voice_id) throw invalid('The podcast has no host or guest voice', 'INVALID_INPUT');
    return { host: p.host_voice_id, guest: p.guest_voice_id };
  };

  /**
   * What the engine will be asked to say for a line, and the hash that names that sound: the
   * same hash anywhere in the podcast is the same audio (reused, and paid for once).
   */
  const soundOf = (line: DbScriptLine, voiceRow: LineRow['voice'] & object, language: string, style: string, pronounce: (t: string) => string) => {
    const voice = resolveVoice(providers, voiceRow, language);
    const text = pronounce(line.text);
    const instructions = voice.provider.instructionsFor?.(style);
    const hash = segmentHash({ text, voiceId: line.voice_id, speed: 1, language, voice, instructions });
    return { voice, text, instructions, hash };
  };

  /** How fast the podcast's two voices speak, from the engines that will speak them. */
  const paceOf = async (p: Podcast): Promise<ScriptPace> => {
    const voices = voicesOf(p);
    const rows = await knex('voices').whereIn('id', [voices.host, voices.guest]);
    const rate = (id: string) => {
      const v = rows.find((r) => r.id === id);
      const engine = v ? resolveVoice(providers, v, p.language).provider.name : 'local';
      return speakingRateOf(engine, p.language, config.SPEAKING_RATES);
    };
    return { host: rate(voices.host), guest: rate(voices.guest) };
  };

  /** The local writer's script for this podcast at a pace; notes on the job when the source is too short for the target. */
  const writeLocal = async (p: Podcast, jobId: string, text: string, pace: ScriptPace) => {
    const voices = voicesOf(p);
    const script = writeLocalScript({
      title: p.title,
      text,
      language: p.language,
      targetDurationSec: p.target_duration,
      hostVoiceId: voices.host,
      guestVoiceId: voices.guest,
      style: p.style as ScriptStyle,
      pace,
    });
    const short = script.usedAllMaterial && script.expectedSeconds < p.target_duration * (1 - 2 * LENGTH_TOLERANCE);
    await knex('podcast_jobs')
      .where({ id: jobId })
      .update({
        length_note: short
          ? `The source holds about ${Math.max(1, Math.round(script.expectedSeconds / 60))} min of speech; the target was ${Math.round(p.target_duration / 60)} min`
          : null,
      });
    return script.lines.map((l): DbScriptLine => ({ role: l.role, text: l.text, voice_id: l.voiceId, ...(l.section ? { section: l.section } : {}) }));
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
      await recordStage(knex, a);
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
          if (!p.title && page.title)
            await knex('podcasts')
              .where({ id: p.id })
              .update({ title: page.title.slice(0, 200) });
        } else if (p.source_type === 'file') {
          const doc = await readUploadedDocument({ knex, storage }, p.user_id, p.source_content);
          text = doc.text;
          if (!p.title)
            await knex('podcasts')
              .where({ id: p.id })
              .update({ title: doc.title.slice(0, 200) });
        } else if (p.source_type === 'topic') {
          if (!providers.llm) throw invalid('A topic needs an LLM: set OPENAI_API_KEY', 'LLM_NOT_CONFIGURED');
          text = normaliseText(p.source_content);
        } else {
          text = normaliseText(p.source_content);
        }
        if (!text || (p.source_type !== 'topic' && sourceDocument(text).sections.length === 0))
          throw invalid('The source has no readable text', 'SOURCE_EMPTY');
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
      const voices = voicesOf(p);
      const pace = await paceOf(p);
      const lines: DbScriptLine[] = await classified(async () => {
        if (providers.llm) {
          const draft = await writeLlmScript(
            providers.llm,
            {
              title: p.title,
              sourceType: p.source_type,
              // The model gets the source's words, not its Markdown or links.
              sourceText: p.source_type === 'topic' ? text : documentText(sourceDocument(text)),
              language: p.language,
              style: p.style,
              targetDurationSec: p.target_duration,
              charsPerSecond: pace.host.charsPerSecond,
            },
            {
              resume: ctx.info.heartbeatDetails as ScriptProgress | undefined,
              onProgress: (progress) => heartbeat(progress),
              signal: ctx.cancellationSignal,
            },
          );
          return draft.map((l) => ({ role: l.role, text: l.text, voice_id: voices[l.role], ...(l.section ? { section: l.section } : {}) }));
        }
        return writeLocal(p, a.jobId, text, pace);
      });
      await knex('podcasts')
        .where({ id: p.id })
        .update({ script: jsonb(knex, lines), updated_at: knex.fn.now() });
      return { lines: lines.length };
    },

    /**
     * The length loop, between speaking and stitching: the real length of every line is known, so
     * when the podcast would miss its target by more than LENGTH_TOLERANCE the local writer writes
     * the script again at the pace the voices really had. Lines it keeps are reused as spoken; the
     * workflow speaks only the new ones. Scripts from an LLM are left as written.
     */
    async fitPodcastLength(a: { podcastId: string; jobId: string; segments: SegmentRef[] }): Promise<{ rewritten: boolean; lines: number }> {
      const p = await podcastRow(a.podcastId);
      const script: DbScriptLine[] = p.script ?? [];
      const unchanged = { rewritten: false, lines: script.length };
      if (providers.llm || script.length !== a.segments.length) return unchanged;
      const pace = await paceOf(p);
      const pauses = pausesAfter(script.map((l) => l.role));
      const spoken = { host: 0, guest: 0 };
      const estimated = { host: 0, guest: 0 };
      for (const seg of a.segments) {
        const line = script[seg.index]!;
        spoken[line.role] += seg.duration;
        estimated[line.role] += lineSeconds(line.text, pace[line.role]);
      }
      const measured = spoken.host + spoken.guest + pauses.reduce((x, y) => x + y, 0);
      if (Math.abs(measured / p.target_duration - 1) <= LENGTH_TOLERANCE) return unchanged;
      const factor = (role: 'host' | 'guest') => (estimated[role] > 0 && spoken[role] > 0 ? spoken[role] / estimated[role] : 1);
      const truePace: ScriptPace = { host: scaledRate(pace.host, factor('host')), guest: scaledRate(pace.guest, factor('guest')) };
      const lines = await classified(async () => writeLocal(p, a.jobId, await readSource(p.id), truePace));
      const same = lines.length === script.length && lines.every((l, i) => l.text === script[i]!.text && l.role === script[i]!.role);
      if (same) return unchanged;
      logger.info(
        { podcastId: p.id, jobId: a.jobId, target: p.target_duration, measured: Math.round(measured), expected: Math.round(scriptSeconds(lines, truePace)) },
        'podcast length off target: script rewritten at the measured pace',
      );
      await knex('podcasts')
        .where({ id: p.id })
        .update({ script: jsonb(knex, lines), updated_at: knex.fn.now() });
      return { rewritten: true, lines: lines.length };
    },

    /** A review run parks here: the podcast shows as draft until its script is approved. */
    async markPodcastDraft(a: { podcastId: string; jobId: string }) {
      await markDraft(knex, a);
    },

    /** Sizes the job's quota reservation to the script that will be spoken. */
    async planPodcastSynthesis(a: {
      podcastId: string;
      jobId: string;
    }): Promise<{ lines: number; estimatedSeconds: number; concurrency: number; previews: string[] }> {
      const p = await podcastRow(a.podcastId);
      const script: DbScriptLine[] = p.script ?? [];
      if (script.length === 0) throw invalid('The podcast has no script to speak', 'SCRIPT_EMPTY');
      // The dictionary is copied here, after any review, so edits made while reviewing count.
      await snapshotJobPronunciations(knex, { jobId: a.jobId, userId: p.user_id });
      const voices = await knex('voices').whereIn('id', [...new Set(script.map((l) => l.voice_id))]);
      const engines = voices.map((v) => resolveVoice(providers, v, p.language).provider.name);
      // Lines whose sound a completed generation was charged for cost nothing again (cheap edits):
      // reserve for the rest.
      const pronounce = await pronunciationsOf(a.jobId);
      const hashes = script.map((l) => {
        const v = voices.find((x) => x.id === l.voice_id);
        return v ? soundOf(l, v, p.language, p.style, pronounce).hash : null;
      });
      const paid = new Set(
        (
          await knex('podcast_segments')
            .where({ podcast_id: p.id, paid: true })
            .whereIn(
              'text_hash',
              hashes.filter((h): h is string => h !== null),
            )
            .distinct('text_hash')
        ).map((r) => r.text_hash),
      );
      const pace = await paceOf(p);
      const toSpeak = script.filter((_, i) => !paid.has(hashes[i] ?? ''));
      const estimatedSeconds = Math.ceil(
        paid.size === 0
          ? // Never more than the target the request reserved for: the length loop aims at it, and the charge is capped anyway.
            Math.min(scriptSeconds(script, pace), p.target_duration)
          : toSpeak.reduce((sum, l) => sum + lineSeconds(l.text, pace[l.role]), 0),
      );
      await classified(() => adjustReservation(knex, podcastJobKey(a.jobId), estimatedSeconds));
      await knex('podcast_jobs').where({ id: a.jobId }).update({ lines_total: script.length });
      return {
        lines: script.length,
        estimatedSeconds,
        concurrency: lanes.concurrencyFor(engines, config.SYNTH_CONCURRENCY),
        previews: script.map(linePreview),
      };
    },

    /** synthesizing: one line, reused when the same text, voice and speed were spoken before. */
    async synthesizePodcastLine(a: { podcastId: string; jobId: string; index: number; total: number }): Promise<SegmentRef> {
      // One round trip for this line of the script (not the whole script: a two-hour one is ~1,500
      // lines), its voice, and the segments already spoken for its place in the script.
      const row = await knex('podcasts as p')
        .leftJoin('voices as v', 'v.id', knex.raw(`p.script -> ?::int ->> 'voice_id'`, [a.index]))
        .where('p.id', a.podcastId)
        .first<LineRow | undefined>(
          knex.raw('p.script -> ?::int AS line', [a.index]),
          'p.language',
          'p.user_id',
          'p.style',
          knex.raw(`jsonb_path_query_array(p.script, '$[$from to $to]', jsonb_build_object('from', ?::int, 'to', ?::int)) AS nearby`, [
            Math.max(0, a.index - NEARBY_LINES),
            a.index + NEARBY_LINES,
          ]),
          knex.raw('(SELECT j.created_at FROM podcast_jobs j WHERE j.id = ?) AS job_created_at', [a.jobId]),
          knex.raw(
            `CASE WHEN v.id IS NULL THEN NULL ELSE json_build_object('id', v.id, 'provider', v.provider, 'gender', v.gender, 'language', v.language) END AS voice`,
          ),
          knex.raw(
            `(SELECT json_agg(json_build_object('text_hash', s.text_hash, 'storage_key', s.storage_key, 'duration', s.duration, 'chars', s.chars,
                'provider', s.provider, 'api_cost', s.api_cost)) FROM podcast_segments s WHERE s.podcast_id = p.id AND s.line_index = ?) AS segments`,
            [a.index],
          ),
        );
      const line = row?.line;
      if (!row || !line) throw invalid(`Line ${a.index} is missing from the script`, 'SCRIPT_CHANGED');
      if (!row.voice) throw invalid(`Unknown voice ${line.voice_id}`, 'TTS_UNKNOWN_VOICE');
      // The engine hears the line with the job's pronunciations and the style's delivery; the
      // script keeps the original words.
      const pronounce = await pronunciationsOf(a.jobId);
      const { voice, text, instructions, hash } = soundOf(line, row.voice, row.language, row.style, pronounce);
      const key = `${segmentPrefix(a.podcastId)}${String(a.index).padStart(5, '0')}-${hash.slice(0, 32)}.${voice.format}`;

      // The same sound anywhere in the podcast will do: an edit or the length loop moves lines about.
      const existing =
        row.segments?.find((s) => s.text_hash === hash) ??
        (await knex('podcast_segments')
          .where({ podcast_id: a.podcastId, text_hash: hash })
          .first('text_hash', 'storage_key', 'duration', 'chars', 'provider', 'api_cost'));
      let ref: SegmentRef;
      if (existing && (await storage.exists(existing.storage_key))) {
        ref = {
          index: a.index,
          key: existing.storage_key,
          duration: existing.duration,
          chars: existing.chars,
          provider: existing.provider,
          apiCost: existing.api_cost,
        };
      } else if (await storage.exists(key)) {
        // Bought and stored by an attempt that died before recording it (the key names exactly
        // this line's sound): measured and recorded, never bought again. Its price went unrecorded.
        const duration = await withTempDir(async (dir) => lineDuration((await localCopies(storage, [key], dir))[0]!));
        ref = { index: a.index, key, duration, chars: [...text].length, provider: voice.provider.name, apiCost: null };
      } else {
        const signal = Context.current().cancellationSignal;
        const ticket = {
          userId: row.user_id,
          jobId: a.jobId,
          jobCreatedAt: new Date(row.job_created_at ?? Date.now()),
          jobCap: config.SYNTH_CONCURRENCY ?? null,
        };
        const { previousText, nextText } = sameVoiceNeighbours(row.nearby, Math.min(a.index, NEARBY_LINES));
        const spoken = await classified(() =>
          speakToStorage(
            storage,
            {
              key,
              text,
              language: row.language,
              speed: 1,
              voice,
              signal,
              instructions,
              previousText: previousText && pronounce(previousText),
              nextText: nextText && pronounce(nextText),
            },
            { lanes, ticket },
          ),
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
      await recordLineDone(a.jobId, a.total);
      return ref;
    },

    /** processing: stitch every line with pauses between turns, normalise, upload the MP3. */
    async stitchPodcast(a: { podcastId: string; jobId: string; segments: SegmentRef[] }): Promise<{ key: string; duration: number; bytes: number }> {
      const p = await podcastRow(a.podcastId);
      const script: DbScriptLine[] = p.script ?? [];
      const roles: string[] = script.map((l) => l.role);
      const ctx = Context.current();
      const key = `podcasts/${a.podcastId}/podcast-${a.jobId}.mp3`;
      let lastRecorded = 0;
      const record = (progress: number, step: string) => {
        if (Date.now() - lastRecorded < 2000) return;
        lastRecorded = Date.now();
        recordProgress(knex, a.jobId, 'processing', progress, step).catch(() => undefined);
      };
      return withTempDir(async (dir) => {
        // On S3 every line is downloaded first: minutes for a long podcast, so that heartbeats too.
        const paths = await localCopies(
          storage,
          a.segments.map((s) => s.key),
          dir,
          {
            signal: ctx.cancellationSignal,
            onProgress: (downloaded, total) => {
              ctx.heartbeat({ downloaded, total });
              record(90, `Fetching line ${downloaded} of ${total}`);
            },
          },
        );
        const out = path.join(dir, 'podcast.mp3');
        const pauses = pausesAfter(roles).map((sec) => Math.round(sec * 1000));
        const result = await stitch({
          segments: paths.map((p, i) => ({ path: p, pauseAfterMs: pauses[i]! })),
          outputPath: out,
          format: 'mp3',
          workDir: dir,
          signal: ctx.cancellationSignal,
          onProgress: (fraction) => {
            ctx.heartbeat({ fraction });
            record(90 + Math.floor(fraction * 9), `Stitching audio (${Math.round(fraction * 100)}%)`);
          },
        });
        assertWhole(
          result.duration,
          a.segments.map((seg) => seg.duration),
          pauses,
        );
        // Where every line sits in the file: laid out from the lines' own lengths and pauses, then
        // scaled to the file's measured length (encoder padding, resampling).
        const laidOut = a.segments.reduce((sum, seg, i) => sum + seg.duration + pauses[i]! / 1000, 0);
        const scale = laidOut > 0 ? result.duration / laidOut : 1;
        let at = 0;
        const timeline: TimelineEntry[] = a.segments.map((seg, i) => {
          const line = script[seg.index];
          if (!line) throw invalid(`Line ${seg.index} is missing from the script`, 'SCRIPT_CHANGED');
          const entry: TimelineEntry = {
            index: seg.index,
            key: seg.key,
            start: round3(at * scale),
            end: round3((at + seg.duration) * scale),
            role: line.role,
            text: line.text,
            voiceId: line.voice_id,
            ...(line.section ? { section: line.section } : {}),
          };
          at += seg.duration + pauses[i]! / 1000;
          return entry;
        });
        await knex('podcast_jobs')
          .where({ id: a.jobId })
          .update({ timeline: jsonb(knex, timeline) });
        // Title, voices and chapters as ID3 tags, so players and podcast apps show them.
        const voiceNames = await knex('voices')
          .whereIn('id', [...new Set(script.map((l) => l.voice_id))])
          .select('id', 'name');
        const tagged = path.join(dir, 'tagged.mp3');
        await tagMp3(
          out,
          tagged,
          {
            title: p.title,
            artist: voiceNames.map((v) => v.name).join(', '),
            chapters: chaptersOf(timeline, p.title, result.duration).map((c) => ({ start: c.start, end: c.end, title: c.title })),
          },
          ctx.cancellationSignal,
        );
        const bytes = (await fs.stat(tagged)).size;
        await storage.putFile(key, tagged, contentTypeOf('mp3'));
        return { key, duration: result.duration, bytes };
      });
    },

    /**
     * completed, in one transaction: the podcast's audio, its audios row, one usage_logs row and
     * the quota charge. The charge is the file's duration, except for a generation that reuses
     * lines a completed generation was charged for (an edit): then it is the seconds of the lines
     * spoken anew, pauses not counted again. The file's lines are then marked paid. A generation
     * after an edit replaces the podcast's audio (same audios row, new file; the old file goes).
     * A second call finds the job completed and changes nothing. With SEGMENT_RETENTION_DAYS=0 the
     * spoken lines go right after the commit (else housekeeping removes them once the retention
     * has passed, and catches any removal that failed here).
     */
    async completePodcast(a: { podcastId: string; jobId: string; audioKey: string; duration: number; bytes: number }) {
      const replacedFile = await knex.transaction(async (trx): Promise<string | null> => {
        const job = await lockUnfinishedJob(trx, a.jobId);
        if (!job) return null; // completed already, or canceled meanwhile
        const p = await trx('podcasts').where({ id: a.podcastId }).forUpdate().first();
        if (!p) return null;
        const script: DbScriptLine[] = p.script ?? [];
        const timeline = job.timeline ?? null;
        const keys = timeline ? [...new Set(timeline.map((t) => t.key))] : [];
        const paidKeys = new Set(
          keys.length
            ? (await trx('podcast_segments').where({ podcast_id: p.id, paid: true }).whereIn('storage_key', keys).distinct('storage_key')).map(
                (r) => r.storage_key,
              )
            : [],
        );
        const newLines = paidKeys.size === 0 || !timeline ? null : timeline.filter((t) => !paidKeys.has(t.key));
        const chargeSeconds = newLines ? newLines.reduce((sum, t) => sum + (t.end - t.start), 0) : a.duration;
        const chars = newLines ? newLines.reduce((sum, t) => sum + (script[t.index]?.text.length ?? 0), 0) : null;

        // What this generation bought from providers: its lines not paid for before.
        const seg = await trx('podcast_segments')
          .where({ job_id: a.jobId, paid: false })
          .first<{ cost: number; providers: (string | null)[] | null } | undefined>(
            trx.raw('COALESCE(SUM(api_cost), 0) AS cost'),
            trx.raw('array_agg(DISTINCT provider) AS providers'),
          );
        const providerNames = (seg?.providers ?? []).filter((n): n is string => Boolean(n));
        const provider = providerNames.length === 1 ? (providerNames[0] ?? null) : providerNames.length ? 'mixed' : (p.tts_provider ?? null);
        const text = script.map((l) => l.text).join('\n');
        const duration = Math.round(a.duration * 100) / 100; // NUMERIC(10,2) columns
        const audioUrl = storage.uri(a.audioKey);

        const charged = await settleQuota(trx, podcastJobKey(a.jobId), chargeSeconds);
        const audioRow = { title: p.title, text, text_length: text.length, voice_id: p.host_voice_id, audio_url: audioUrl, duration, file_size: a.bytes };
        const previous = p.audio_url
          ? await trx('audios').where({ user_id: p.user_id, audio_url: p.audio_url, type: 'podcast', is_deleted: false }).first('id')
          : undefined;
        let audioId: string;
        if (previous) {
          await trx('audios').where({ id: previous.id }).update(audioRow);
          audioId = previous.id;
        } else {
          const [audio] = await trx('audios')
            .insert({ ...audioRow, user_id: p.user_id, audio_format: 'mp3', type: 'podcast' })
            .returning('id');
          if (!audio) throw new Error('insert returned no audio');
          audioId = audio.id;
        }
        if (charged !== null) {
          await trx('usage_logs').insert({
            user_id: p.user_id,
            type: 'podcast',
            chars_used: chars ?? text.length,
            duration_used: Math.round(chargeSeconds * 100) / 100,
            audio_id: audioId,
            podcast_id: p.id,
            provider,
            api_cost: Number(seg?.cost ?? 0),
          });
        }
        if (keys.length) await trx('podcast_segments').where({ podcast_id: p.id }).whereIn('storage_key', keys).update({ paid: true });
        else await trx('podcast_segments').where({ job_id: a.jobId }).update({ paid: true });
        await markCompleted(trx, { podcastId: a.podcastId, jobId: a.jobId, audioUrl, duration, provider });
        const before = p.audio_url && p.audio_url !== audioUrl ? p.audio_url : null;
        return before;
      });
      if (replacedFile) {
        // The previous generation's file; a URI from another storage (a migration) is left alone.
        await Promise.resolve()
          .then(() => storage.delete(storage.keyOf(replacedFile)))
          .catch((err) => logger.warn({ err, podcastId: a.podcastId }, 'replaced podcast file not removed'));
      }
      await emitEvent({ type: 'podcast.completed', podcastId: a.podcastId, jobId: a.jobId });
      if (config.SEGMENT_RETENTION_DAYS === 0) {
        await removeSegmentsIfExpired(knex, storage, a.podcastId, 0).catch((err) =>
          logger.warn({ err, podcastId: a.podcastId }, 'spoken lines not removed at completion; housekeeping will retry'),
        );
      }
    },

    /** failed: the job records why; the reservation is released; spoken lines stay for a retry while retained. */
    async failPodcast(a: { podcastId: string; jobId: string; code: string; message: string }) {
      await endJob(knex, { podcastId: a.podcastId, jobId: a.jobId, status: 'failed', code: a.code, message: a.message });
      await emitEvent({ type: 'podcast.failed', podcastId: a.podcastId, jobId: a.jobId });
      if (config.SEGMENT_RETENTION_DAYS === 0) {
        await removeSegmentsIfExpired(knex, storage, a.podcastId, 0).catch((err) =>
          logger.warn({ err, podcastId: a.podcastId }, 'spoken lines not removed at failure; housekeeping will retry'),
        );
      }
    },

    /** canceled: nothing is charged and the partial audio is removed. */
    async cancelPodcast(a: { podcastId: string; jobId: string }) {
      // Files first: once the job reads canceled, nothing of it may remain (the workflow calls this
      // only after every line and the stitcher have stopped). A retry re-reads the source.
      // Lines of the podcast's completed audio stay (an edit's next generation reuses them, paid).
      const paidKeys = new Set(
        (await knex('podcast_segments').where({ podcast_id: a.podcastId, paid: true }).distinct('storage_key')).map((r) => r.storage_key),
      );
      if (paidKeys.size === 0) await storage.deletePrefix(segmentPrefix(a.podcastId));
      else {
        const unpaid = await knex('podcast_segments').where({ podcast_id: a.podcastId, paid: false }).distinct('storage_key');
        for (const { storage_key: key } of unpaid) if (!paidKeys.has(key)) await storage.delete(key);
      }
      await storage.delete(`podcasts/${a.podcastId}/podcast-${a.jobId}.mp3`);
      await storage.delete(sourceKey(a.podcastId));
      await knex.transaction(async (trx) => {
        await trx('podcast_segments').where({ podcast_id: a.podcastId, paid: false }).delete();
        await endJob(trx, { podcastId: a.podcastId, jobId: a.jobId, status: 'canceled' });
      });
    },
  };
}

/** The text of the nearest line before and after `at` spoken by the same voice, if any is near. */
/**
 * What the Temporal UI shows of a line next to its number: the role and the first words, so an
 * operator finds the line a stuck or failing activity speaks (`guest · "In the past…"`).
 */
function linePreview(line: Pick<DbScriptLine, 'role' | 'text'>): string {
  const words = line.text.replace(/\s+/g, ' ').trim();
  return `${line.role} · "${words.length > 30 ? `${words.slice(0, 30).trimEnd()}…` : words}"`;
}

function sameVoiceNeighbours(lines: DbScriptLine[], at: number): { previousText?: string; nextText?: string } {
  const voiceId = lines[at]?.voice_id;
  const previous = lines
    .slice(0, at)
    .reverse()
    .find((l) => l.voice_id === voiceId);
  const next = lines.slice(at + 1).find((l) => l.voice_id === voiceId);
  return { previousText: previous?.text, nextText: next?.text };
}
