import path from 'node:path';
import { Context } from '@temporalio/activity';
import { stitch } from '../src/audio/ffmpeg';
import type { ProviderLanes } from '../src/capacity/providerLanes';
import { resolveVoice } from '../src/providers';
import type { VoicePreviewInput } from '../workflows/types';
import type { ActivityDeps } from './deps';
import { classified, invalid } from './failures';
import { localCopies, segmentHash, speakToStorage, withTempDir } from './speech';

// Previews belong to no user: their lane claims (src/capacity) are counted under this id.
const PREVIEW_LANE_USER = '00000000-0000-0000-0000-000000000000';

/** Voice previews: one sentence in the voice's own engine, stored as a loudness-normalised MP3. */
export function createVoicePreviewActivities({ knex, storage, providers }: ActivityDeps, lanes: ProviderLanes) {
  return {
    async speakVoicePreview(input: VoicePreviewInput): Promise<{ key: string; duration: number }> {
      const voiceRow = await knex('voices').where({ id: input.voiceId }).first();
      if (!voiceRow) throw invalid(`Unknown voice ${input.voiceId}`, 'TTS_UNKNOWN_VOICE');
      const voice = resolveVoice(providers, voiceRow, input.language);
      // The engine's own file first (WAV from espeak-ng, MP3 from the cloud), checked by speakToStorage
      // like any line; a retry after it was stored does not ask the provider again.
      const hash = segmentHash({ text: input.text, voiceId: input.voiceId, speed: 1, language: input.language, voice });
      const spokenKey = `previews/spoken/${hash.slice(0, 32)}.${voice.format}`;
      if (!(await storage.exists(spokenKey))) {
        await classified(() =>
          speakToStorage(
            storage,
            { key: spokenKey, text: input.text, language: input.language, speed: 1, voice, signal: Context.current().cancellationSignal },
            { lanes, ticket: { userId: PREVIEW_LANE_USER, jobId: null, jobCreatedAt: new Date(), jobCap: null } },
          ),
        );
      }
      const result = await withTempDir(async (dir) => {
        const [spoken] = await localCopies(storage, [spokenKey], dir);
        const out = path.join(dir, 'preview.mp3');
        // The same loudness as podcasts and audios, so a preview sounds like the result.
        const stitched = await stitch({ segments: [{ path: spoken!, pauseAfterMs: 0 }], outputPath: out, format: 'mp3', workDir: dir });
        await storage.putFile(input.key, out, 'audio/mpeg');
        return { key: input.key, duration: stitched.duration };
      });
      await storage.delete(spokenKey);
      return result;
    },
  };
}
