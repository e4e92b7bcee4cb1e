import type { Knex } from 'knex';
import { z } from 'zod';
import type { Voice } from '../../models';
import { listVoices } from '../../services/voices';
import { route } from '../route';

export function voiceView(v: Voice, renderedLocally = false) {
  return {
    id: v.id,
    name: v.name,
    nameZh: v.name_zh,
    provider: v.provider,
    gender: v.gender,
    language: v.language,
    style: v.style,
    description: v.description,
    previewUrl: v.preview_url,
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

export function voiceRoutes(knex: Knex, providerKeys: { openai: boolean; elevenlabs: boolean }) {
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
        ctx.body = { items: (await listVoices(knex, query)).map((v) => voiceView(v, local(v))) };
      },
    }),
  ];
}
