import type { Knex } from 'knex';
import { z } from 'zod';
import { listPronunciations, PRONUNCIATION_LIMITS, replacePronunciations } from '../../services/pronunciations';
import { route } from '../route';
import { NOT_BLANK } from './common';

// Control characters (line breaks, tabs) have no place in a word or in how it is said.
// (\p{Cc} spelled out: the OpenAPI pattern must mean the same to tools in other languages.)
// eslint-disable-next-line no-control-regex -- naming the control characters is the point
const NO_CONTROL = /^[^\x00-\x1f\x7f-\x9f]*$/;

const Entry = z.strictObject({
  term: z
    .string()
    .regex(NOT_BLANK, 'must not be blank')
    .trim()
    .min(1)
    .max(PRONUNCIATION_LIMITS.termChars)
    .regex(NO_CONTROL, 'must not contain control characters'),
  say: z
    .string()
    .regex(NOT_BLANK, 'must not be blank')
    .trim()
    .min(1)
    .max(PRONUNCIATION_LIMITS.sayChars)
    .regex(NO_CONTROL, 'must not contain control characters'),
});

const Dictionary = z.strictObject({
  items: z
    .array(Entry)
    .max(PRONUNCIATION_LIMITS.entries)
    .superRefine((items, ctx) => {
      // Terms match case-sensitively, so only the very same term twice is a duplicate.
      const first = new Map<string, number>();
      items.forEach((e, i) => {
        const seen = first.get(e.term);
        if (seen === undefined) first.set(e.term, i);
        else ctx.addIssue({ code: 'custom', path: [i, 'term'], message: `duplicate term (also item ${seen})` });
      });
    }),
});

const DictionarySchema = z.object({ items: z.array(z.object({ term: z.string(), say: z.string() })) });

export function pronunciationRoutes(knex: Knex) {
  return [
    route({
      method: 'get',
      path: '/v1/pronunciations',
      operationId: 'listPronunciations',
      tag: 'pronunciations',
      summary: "The caller's pronunciation dictionary, in the order it was saved",
      auth: 'required',
      responses: { 200: { description: 'The dictionary', schema: DictionarySchema } },
      handler: async (ctx, { auth }) => {
        ctx.body = { items: await listPronunciations(knex, auth!.user.id) };
      },
    }),
    route({
      method: 'put',
      path: '/v1/pronunciations',
      operationId: 'replacePronunciations',
      tag: 'pronunciations',
      summary:
        "Replace the caller's pronunciation dictionary (at most 500 entries; term 1–100, say 1–200 characters; terms unique). Before a line is spoken each term is said as its `say` form: case-sensitive, whole words in spaced scripts, anywhere in Chinese, Japanese, Korean and Thai text, longest term first, in one pass. Applies to jobs whose synthesis starts afterwards; scripts keep the original words",
      auth: 'required',
      body: Dictionary,
      responses: { 200: { description: 'The saved dictionary', schema: DictionarySchema } },
      handler: async (ctx, { body, auth }) => {
        ctx.body = { items: await replacePronunciations(knex, auth!.user.id, body.items) };
      },
    }),
  ];
}
