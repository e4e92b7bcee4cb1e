import { z } from 'zod';
import { BadJsonError, type JsonCompletionArgs, type ScriptLlm } from '../providers/llm/openaiChat';
import { ProviderError } from '../providers/tts/types';
import { speakableLine } from '../sources/markdown';
import { chunkText } from '../sources/text';
import { languageClass, speakingRateOf } from './pace';
import { foreignWritingSystem, languageName } from './language';

/**
 * Podcast scripts from an OpenAI-compatible chat model, as structured JSON. Targets longer than
 * a quarter of an hour are written outline first, then section by section, so each call stays
 * small; finished sections are handed to `onSection` so an interrupted run can resume from them.
 */
export interface DraftLine {
  role: 'host' | 'guest';
  text: string;
  /** Set on the first line of each outline section: the chapter it opens. */
  section?: string;
}

const LinesSchema = z.object({
  lines: z.array(z.object({ role: z.enum(['host', 'guest']), text: z.string().trim().min(1).max(2000) })).min(1),
});
const OutlineSchema = z.object({
  sections: z.array(z.object({ title: z.string().min(1), points: z.array(z.string()) })).min(1),
});

const LINES_JSON_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['lines'],
  properties: {
    lines: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['role', 'text'],
        properties: { role: { type: 'string', enum: ['host', 'guest'] }, text: { type: 'string' } },
      },
    },
  },
};
const OUTLINE_JSON_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['sections'],
  properties: {
    sections: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['title', 'points'],
        properties: { title: { type: 'string' }, points: { type: 'array', items: { type: 'string' } } },
      },
    },
  },
};

export interface ScriptProgress {
  outline: Array<{ title: string; points: string[] }>;
  done: DraftLine[][];
}

export const SECTION_SECONDS = 600;
const SINGLE_CALL_MAX_SECONDS = 900;
const SOURCE_EXCERPT_CHARS = 24_000;

/** Longest line spoken in one piece; longer ones are cut at sentence ends into lines of the same speaker. */
export const MAX_LINE_CHARS = 600;

/** What is wrong with an answer, and the error it fails the attempt with if the repair is no better. */
interface Problem {
  what: string;
  code: 'LLM_BAD_OUTPUT' | 'LLM_WRONG_LANGUAGE';
}

/**
 * Whether a failed attempt is worth another: broken JSON may come out whole next time; a model
 * that wrote in the wrong language after being told which one will do so again, so the job fails
 * at once (and is charged nothing).
 */
const RETRYABLE: Record<Problem['code'], boolean> = { LLM_BAD_OUTPUT: true, LLM_WRONG_LANGUAGE: false };

/**
 * An answer the script can use: the model's JSON must be valid, match `schema` and pass `check`.
 * A bad answer is shown back to the model with what is wrong, once, before the attempt fails
 * (and the activity's retry, if the problem is retryable, asks afresh).
 */
async function usableJson<T>(llm: ScriptLlm, schema: z.ZodType<T>, args: JsonCompletionArgs, check: (value: T) => Problem | null = () => null): Promise<T> {
  let repair: { answer: string; problem: string } | undefined;
  for (let attempt = 1; ; attempt++) {
    let answer: string;
    let problem: Problem | null;
    try {
      const { value, content } = await llm.completeJson({ ...args, ...(repair ? { repair } : {}) });
      answer = content;
      const r = schema.safeParse(value);
      if (r.success) {
        problem = check(r.data);
        if (!problem) return r.data;
      } else {
        const issue = r.error.issues[0];
        problem = { what: `it does not follow the schema (${issue?.path.join('.') || 'the answer'}: ${issue?.message})`, code: 'LLM_BAD_OUTPUT' };
      }
    } catch (err) {
      if (!(err instanceof BadJsonError)) throw err;
      answer = err.content;
      problem = { what: err.problem, code: 'LLM_BAD_OUTPUT' };
    }
    if (attempt >= 2) throw new ProviderError(problem.code, `The model's answer was not usable, even after a repair: ${problem.what}`, RETRYABLE[problem.code]);
    repair = { answer, problem: problem.what };
  }
}

/**
 * A section's lines are a conversation in the podcast's language: both voices speak, and most of
 * the words (over all lines, so a Chinese line may quote an English name) are in the language's
 * writing system.
 */
function conversationIn(language: string) {
  const name = languageName(language);
  return ({ lines }: { lines: DraftLine[] }): Problem | null => {
    for (const role of ['host', 'guest'] as const) {
      if (!lines.some((l) => l.role === role)) return { what: `the ${role} never speaks; the host and the guest must take turns`, code: 'LLM_BAD_OUTPUT' };
    }
    const foreign = foreignWritingSystem(lines.map((l) => speakableLine(l.text)).join('\n'), language);
    if (!foreign) return null;
    return { what: `its lines are not in ${name} (most of their words are in ${foreign}); every line must be in ${name}`, code: 'LLM_WRONG_LANGUAGE' };
  };
}

/**
 * The turns as the voices will speak them: Markdown and URLs removed, consecutive lines of one
 * speaker joined into one turn (so host and guest alternate), and turns longer than
 * MAX_LINE_CHARS cut at sentence ends.
 */
export function speakableLines(lines: DraftLine[], language: string): DraftLine[] {
  // Models write Markdown and URLs however they are told; a voice must not read them out.
  const spoken = lines.map((l) => ({ role: l.role, text: speakableLine(l.text).replace(/\s+/g, ' ').trim() }));
  return alternating(
    spoken.filter((l) => l.text),
    language,
  );
}

/** Consecutive lines of one speaker joined into one turn, and turns longer than MAX_LINE_CHARS cut at sentence ends. */
function alternating(lines: DraftLine[], language: string): DraftLine[] {
  const turns: DraftLine[] = [];
  for (const line of lines) {
    const last = turns[turns.length - 1];
    if (last && last.role === line.role) {
      last.text = `${last.text}${languageClass(language) === 'cjk' ? '' : ' '}${line.text}`;
      // A chapter that begins mid-turn begins with the turn.
      if (line.section && !last.section) last.section = line.section;
    } else turns.push({ ...line });
  }
  return turns.flatMap((t) =>
    t.text.length <= MAX_LINE_CHARS
      ? [t]
      : chunkText(t.text, MAX_LINE_CHARS, language).map((text, i) => ({
          role: t.role,
          text: text.trim(),
          ...(i === 0 && t.section ? { section: t.section } : {}),
        })),
  );
}

/**
 * The host opens. A model whose first speaker is the "guest" has almost always named the two the
 * other way round (it is the one welcoming listeners), so the roles are swapped throughout: every
 * word is kept and turns still alternate, where a repair would cost a call. Who closes is asked
 * for, not enforced: a last word cannot be added without inventing it.
 */
function hostOpens(lines: DraftLine[]): DraftLine[] {
  if (lines[0]?.role !== 'guest') return lines;
  return lines.map((l) => ({ ...l, role: l.role === 'host' ? 'guest' : 'host' }));
}

export interface ScriptRequest {
  title: string | null;
  sourceType: 'url' | 'text' | 'topic' | 'file';
  sourceText: string;
  language: string;
  style: string;
  targetDurationSec: number;
  /** How fast the podcast's voices speak (default: a typical rate for the language). */
  charsPerSecond?: number;
}

function systemPrompt(req: ScriptRequest) {
  return [
    `You write scripts for a two-person podcast in ${languageName(req.language)}: a host and a guest, in a ${req.style} style.`,
    'Alternate turns naturally; the host opens and closes. Stay faithful to the source material: do not invent facts, numbers or quotes.',
    'Write only spoken words: no stage directions, no speaker names inside the text, no markdown.',
  ].join(' ');
}

function sourceBlock(req: ScriptRequest) {
  if (req.sourceType === 'topic') return `Topic: ${req.sourceText}`;
  const excerpt = req.sourceText.length > SOURCE_EXCERPT_CHARS ? `${req.sourceText.slice(0, SOURCE_EXCERPT_CHARS)}…` : req.sourceText;
  return `${req.title ? `Title: ${req.title}\n` : ''}Source material:\n"""\n${excerpt}\n"""`;
}

export async function writeLlmScript(
  llm: ScriptLlm,
  req: ScriptRequest,
  opts: { resume?: ScriptProgress; onProgress?: (progress: ScriptProgress) => void; signal?: AbortSignal } = {},
): Promise<DraftLine[]> {
  const rate = req.charsPerSecond ?? speakingRateOf('openai', req.language).charsPerSecond;
  const system = systemPrompt(req);
  const linesFor = async (seconds: number, focus: string) => {
    const { lines } = await usableJson(
      llm,
      LinesSchema,
      {
        system,
        user: `${sourceBlock(req)}\n\n${focus}\nWrite about ${Math.round(seconds * rate)} characters of dialogue in total (about ${Math.round(seconds / 60)} minutes spoken). Return JSON {"lines":[{"role":"host"|"guest","text":"…"}]}.`,
        schemaName: 'podcast_lines',
        jsonSchema: LINES_JSON_SCHEMA,
        signal: opts.signal,
      },
      conversationIn(req.language),
    );
    return speakableLines(lines, req.language);
  };

  if (req.targetDurationSec <= SINGLE_CALL_MAX_SECONDS) {
    return hostOpens(await linesFor(req.targetDurationSec, 'Write the whole episode.'));
  }

  const sectionCount = Math.ceil(req.targetDurationSec / SECTION_SECONDS);
  const sections = opts.resume?.outline ?? (await outline(sectionCount));
  const perSection = req.targetDurationSec / sections.length;
  const done = [...(opts.resume?.done ?? [])];
  for (const [i, s] of sections.entries()) {
    if (i < done.length) continue;
    const position =
      i === 0
        ? 'This is the opening section: the host welcomes listeners.'
        : i === sections.length - 1
          ? 'This is the final section: end with the host closing the episode.'
          : 'This section continues the conversation; no greetings.';
    done.push(await linesFor(perSection, `${position}\nSection ${i + 1} of ${sections.length}: ${s.title}. Cover: ${s.points.join('; ')}.`));
    opts.onProgress?.({ outline: sections, done });
  }
  // Each outline section is a chapter: its first line carries the title. A section may begin with
  // whoever ended the one before: joined, turns alternate throughout.
  const marked = done.flatMap((lines, i) => lines.map((l, j) => (j === 0 ? { ...l, section: sections[i]!.title } : l)));
  return hostOpens(alternating(marked, req.language));

  async function outline(count: number) {
    const { sections } = await usableJson(llm, OutlineSchema, {
      system,
      user: `${sourceBlock(req)}\n\nPlan an episode of ${Math.round(req.targetDurationSec / 60)} minutes as exactly ${count} sections, each with a title and the points it covers. Return JSON {"sections":[{"title":"…","points":["…"]}]}.`,
      schemaName: 'podcast_outline',
      jsonSchema: OUTLINE_JSON_SCHEMA,
      signal: opts.signal,
    });
    const planned = sections.slice(0, count);
    opts.onProgress?.({ outline: planned, done: [] });
    return planned;
  }
}
