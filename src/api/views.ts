import crypto from 'node:crypto';
import type { AudioJob, AudioLookup, AudioWithVoice, Podcast, PodcastJob, PodcastWithJob, ScriptLine, Upload } from '../models';
import { AWAITING_APPROVAL_STEP, isFinished } from '../jobs/podcastJob';

/**
 * Domain objects (snake_case rows) to API bodies (camelCase), in one place. A replayed
 * Idempotency-Key hands back rows stored as JSON, so dates may arrive as ISO strings.
 */
const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);

export function fileUrl(publicUrl: string | undefined, path: string) {
  return `${publicUrl ?? ''}${path}`;
}

export function jobView(j: PodcastJob) {
  return {
    id: j.id,
    podcastId: j.podcast_id,
    status: j.status,
    progress: j.progress,
    currentStep: j.current_step,
    errorCode: j.error_code,
    errorMessage: j.error_message,
    // While its lines wait for their provider: 1 when they are next (null when running).
    queuePosition: j.queue_position ?? null,
    // Set when the source holds less than the target duration: how long the podcast will be.
    lengthNote: j.length_note ?? null,
    // Seconds until the job should end: from the lines left and this job's pace (null until known).
    etaSeconds: j.eta_seconds ?? null,
    // Lines spoken, of the script's lines (null until the script is planned; all once completed).
    linesDone: j.lines_total == null ? null : j.status === 'completed' ? j.lines_total : (j.lines_done ?? 0),
    linesTotal: j.lines_total ?? null,
    // A review run parked until its script is approved (POST …/generate).
    awaitingApproval: j.current_step === AWAITING_APPROVAL_STEP && !isFinished(j.status),
    startedAt: iso(j.started_at),
    completedAt: iso(j.completed_at),
    createdAt: iso(j.created_at),
  };
}

export function scriptView(script: ScriptLine[] | null) {
  return script ? script.map((l) => ({ role: l.role, text: l.text, voiceId: l.voice_id })) : null;
}

/** `isPublic` is its audio's visibility (false until it has one). */
export function podcastView(p: Podcast, job: PodcastJob | null, publicUrl: string | undefined, isPublic: boolean) {
  return {
    id: p.id,
    title: p.title,
    sourceType: p.source_type,
    sourceContent: p.source_content,
    targetDuration: p.target_duration,
    style: p.style,
    language: p.language,
    script: scriptView(p.script),
    hostVoiceId: p.host_voice_id,
    guestVoiceId: p.guest_voice_id,
    audioUrl: p.audio_url ? fileUrl(publicUrl, `/v1/podcasts/${p.id}/file`) : null,
    duration: p.duration,
    status: p.status,
    isPublic,
    ttsProvider: p.tts_provider ?? null,
    createdAt: iso(p.created_at),
    updatedAt: iso(p.updated_at),
    job: job ? jobView(job) : null,
  };
}

export const podcastWithJobView = ({ podcast, job, isPublic }: PodcastWithJob, publicUrl?: string) => podcastView(podcast, job, publicUrl, isPublic);

export function audioView(a: AudioWithVoice, publicUrl?: string) {
  return {
    id: a.id,
    title: a.title,
    text: a.text,
    textLength: a.text_length,
    voiceId: a.voice_id,
    voiceName: a.voice_name ?? null,
    audioUrl: fileUrl(publicUrl, `/v1/audios/${a.id}/file`),
    format: a.audio_format,
    duration: a.duration,
    fileSize: a.file_size,
    speed: a.speed,
    emotion: a.emotion,
    type: a.type,
    isPublic: a.is_public,
    createdAt: iso(a.created_at),
  };
}

/** An audio job as GET /v1/audios/:id shows it before there is an audio. */
export function audioJobView(job: AudioJob) {
  return job.status === 'failed'
    ? { id: job.id, status: 'failed' as const, error: { code: job.error_code, message: job.error_message } }
    : { id: job.id, status: 'processing' as const, progress: job.progress };
}

/** 200 with the audio when done, 202 while it is being made, 200 with the error if it failed. */
export function audioLookupResponse(found: AudioLookup, publicUrl?: string): { status: number; body: unknown } {
  if (found.audio) return { status: 200, body: audioView(found.audio, publicUrl) };
  return { status: found.job.status === 'failed' ? 200 : 202, body: audioJobView(found.job) };
}

/** A weak ETag over a response body, for cheap polling with If-None-Match. */
export const etagOf = (body: unknown) => `W/"${crypto.createHash('sha1').update(JSON.stringify(body)).digest('base64url')}"`;

/** An uploaded document: what was stored, and a taste of the text a podcast would be made from. */
export function uploadView(u: Upload, preview: string) {
  return {
    id: u.id,
    filename: u.filename,
    contentType: u.content_type,
    bytes: u.bytes,
    characters: u.characters,
    preview,
    createdAt: iso(u.created_at),
    // Until a podcast uses it; after that it is kept.
    expiresAt: u.used_at ? null : iso(u.expires_at),
  };
}
