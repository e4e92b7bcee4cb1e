import type { Knex } from 'knex';
import { z } from 'zod';
import type { Logger } from '../../logger';
import type { Voice } from '../../models';
import { listVoices } from '../../services/voices';
import { voicePreviewPath, type VoicePreviews } from '../../services/voicePreviews';
import type { Storage } from '../../storage/types';
import { route } from '../route';
import { sendStoredFile } from '../sendStoredFile';
import { fileUrl } from '../views';

export function voiceView(v: Voice, renderedLocally = false, publicUrl?: string) {
  return {
    id: v.id,
    name: v.name,
    nameZh: v.name_zh,
    provider: v.provider,
    gender: v.gender,
    language: v.language,
    style: v.style,
    description: v.description,
    // A catalogue preview if the voice has one, else the sample this server makes on first use.
    previewUrl: v.preview_url ?? fileUrl(publicUrl, voicePreviewPath(v.id)),
    avatarUrl: v.avatar_url,
    isPremium: v.is_premium,
    // True when this server has no key for the voice's provider: espeak-ng speaks it instead.
    renderedLocally,
  };
}

const VoiceSchema = z.object({
  id: z.string(),
  name: z.string(),
  nameZh: z.string().nullable(),
  provider: z.string(),
  gender: z.string().nullable(),
  language: z.string().nullable(),
  style: z.string().nullable(),
  description: z.string().nullable(),
  previewUrl: z.string().nullable(),
  avatarUrl: z.string().nullable(),
  isPremium: z.boolean(),
  renderedLocally: z.boolean(),
});

export function voiceRoutes(deps: {
  knex: Knex;
  providerKeys: { openai: boolean; elevenlabs: boolean };
  previews: VoicePreviews;
  storage: Storage;
  logger: Logger;
  publicUrl?: string;
}) {
  const { knex, providerKeys, previews } = deps;
  const local = (v: Voice) => (v.provider === 'openai' && !providerKeys.openai) || (v.provider === 'elevenlabs' && !providerKeys.elevenlabs);
  return [
    route({
      method: 'get',
      path: '/v1/voices',
      operationId: 'listVoices',
      tag: 'voices',
      summary: 'Active voices, ordered by sort order then id',
      auth: 'none',
      query: z.object({ language: z.string().max(20).optional(), provider: z.string().max(20).optional() }),
      responses: { 200: { description: 'Voices', schema: z.object({ items: z.array(VoiceSchema) }) } },
      handler: async (ctx, { query }) => {
        ctx.body = { items: (await listVoices(knex, query)).map((v) => voiceView(v, local(v), deps.publicUrl)) };
      },
    }),
    route({
      method: 'get',
      path: '/v1/voices/:id/preview',
      operationId: 'getVoicePreview',
      tag: 'voices',
      summary: 'A short sample of the voice in its language, spoken by its own engine (MP3; made on first use, then cached)',
      auth: 'none',
      params: z.object({ id: z.string().min(1).max(50) }),
      responses: {
        200: { description: 'The sample (Range supported)', contentType: 'audio/mpeg' },
        206: { description: 'Partial content' },
        404: { description: 'No active voice with this id' },
        503: { description: 'The sample could not be made right now' },
      },
      handler: async (ctx, { params }) => {
        // A first request waits for the sample; one that hangs up stops waiting (the run goes on).
        const gone = new AbortController();
        ctx.res.once('close', () => gone.abort());
        const key = await previews.keyOf(params.id, gone.signal);
        // A sample changes only when this server's engines do (a new key in storage); a day of caching is harmless.
        ctx.set('Cache-Control', 'public, max-age=86400');
        await sendStoredFile(ctx, deps.storage, key, { contentType: 'audio/mpeg', logger: deps.logger });
      },
    }),
  ];
}
