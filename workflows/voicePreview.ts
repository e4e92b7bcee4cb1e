import type { VoicePreviewInput } from './types';
import { laneActivities } from './shared';

/**
 * A voice's preview sample (workflow id `voice-preview-<voiceId>-<version>`, src/services/voicePreviews.ts):
 * spoken by the voice's own engine in the worker, where the providers are, and stored as MP3. The
 * API starts it with USE_EXISTING, so concurrent first requests for a voice wait on one run.
 */
export async function voicePreviewWorkflow(input: VoicePreviewInput): Promise<{ key: string; duration: number }> {
  // On the lines lane, beside the other speech; a short sample, so a short leash.
  const speech = laneActivities('lines', {
    startToCloseTimeout: '5m',
    heartbeatTimeout: '1m',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 3 },
  });
  return speech.speakVoicePreview.executeWithOptions({ summary: `preview ${input.voiceId}` }, [input]);
}
