import type { ScriptLine } from '../models';

/** Database rows (snake_case) to API bodies (camelCase), in one place. */
const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);

export function fileUrl(publicUrl: string | undefined, path: string) {
  return `${publicUrl ?? ''}${path}`;
}

export function jobView(j: any) {
  return {
    id: j.id,
    podcastId: j.podcast_id,
    status: j.status,
    progress: j.progress,
    currentStep: j.current_step,
    errorCode: j.error_code,
    errorMessage: j.error_message,
    startedAt: iso(j.started_at),
    completedAt: iso(j.completed_at),
    createdAt: iso(j.created_at),
  };
}

export function scriptView(script: ScriptLine[] | null) {
  return script ? script.map((l) => ({ role: l.role, text: l.text, voiceId: l.voice_id })) : null;
}

export function podcastView(p: any, job: any | null, publicUrl?: string) {
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
    ttsProvider: p.tts_provider ?? null,
    createdAt: iso(p.created_at),
    updatedAt: iso(p.updated_at),
    job: job ? jobView(job) : null,
  };
}

export function audioView(a: any, publicUrl?: string) {
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
