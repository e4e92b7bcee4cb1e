/**
 * The LLM that writes podcast scripts: OpenAI chat completions with strict JSON-schema output,
 * or any OpenAI-compatible server (Ollama, vLLM, llama.cpp): a server that refuses the JSON-schema
 * response format is asked with a plainer one, and JSON wrapped in Markdown fences or prose is
 * found in the answer. Validation of the parsed value against the caller's own types is left to
 * the caller.
 */
import OpenAI from 'openai';
import { ProviderError } from '../tts/types';
import { classifyOpenAiError, startDeadline } from '../tts/openai';

export interface OpenAiScriptLlmOptions {
  apiKey: string;
  baseURL?: string;
  /** Default 'gpt-4o-mini'. */
  model?: string;
  /** Whole request. Default 180 s: long scripts take a while to generate. */
  timeoutMs?: number;
}

export interface JsonCompletionArgs {
  system: string;
  user: string;
  /** Name of the schema as the API sees it: [a-zA-Z0-9_-], at most 64 characters. */
  schemaName: string;
  /** A JSON Schema that satisfies OpenAI's strict mode (additionalProperties: false, all required). */
  jsonSchema: object;
  signal?: AbortSignal;
  /** A previous answer that was not usable and why: the model is shown both and asked again. */
  repair?: { answer: string; problem: string };
}

export interface JsonCompletion {
  /** The parsed JSON the model returned; unvalidated. */
  value: unknown;
  /** The answer as the model wrote it. */
  content: string;
  promptTokens: number;
  completionTokens: number;
}

export interface ScriptLlm {
  /** The model's answer parsed as JSON; the caller validates it. */
  completeJson(args: JsonCompletionArgs): Promise<JsonCompletion>;
}

const DEFAULT_TIMEOUT_MS = 180_000;

/** The model answered with text that is not JSON; `content` is what it wrote and `problem` what is wrong with it, for a repair. */
export class BadJsonError extends ProviderError {
  constructor(
    message: string,
    readonly content: string,
    readonly problem = 'it is not valid JSON',
  ) {
    super('LLM_BAD_OUTPUT', message, true);
  }
}

/**
 * How the answer's JSON is asked for, strictest first. Ollama (some versions), llama.cpp and older
 * vLLM answer 400 to `json_schema`; the schema then goes into the prompt.
 */
type ResponseFormat = 'json_schema' | 'json_object' | 'none';
const PLAINER: Record<ResponseFormat, ResponseFormat | null> = { json_schema: 'json_object', json_object: 'none', none: null };

/** The format each server (base URL and model) was found to take, so only the first call of a process pays for a refusal. */
const acceptedFormats = new Map<string, ResponseFormat>();

/**
 * A 400 (or FastAPI's 422) that may be about the response format. OpenAI names the parameter at
 * fault, so a 400 about anything else (the context length) is not asked again; other servers
 * name none, and their messages vary ("invalid format: expected \"json\" or a JSON schema").
 */
function mayRefuseFormat(err: unknown): boolean {
  if (!(err instanceof OpenAI.APIError) || (err.status !== 400 && err.status !== 422)) return false;
  return typeof err.param !== 'string' || err.param.startsWith('response_format');
}

/**
 * The first JSON object in a model's answer: the whole answer, or the first balanced `{…}` in it
 * that parses (servers without structured output wrap it in ```json fences or add prose). An
 * answer whose first object never closes was cut short: nothing nested in it is taken for the answer.
 */
export function firstJsonObject(content: string): unknown {
  try {
    return JSON.parse(content);
  } catch (err) {
    for (let start = content.indexOf('{'); start !== -1;) {
      const end = closingBrace(content, start);
      if (end === -1) break;
      try {
        return JSON.parse(content.slice(start, end + 1));
      } catch {
        start = content.indexOf('{', end + 1);
      }
    }
    throw err;
  }
}

/** Where the object opened at `start` closes, minding strings and escapes; -1 if it never does. */
function closingBrace(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

export function createOpenAiScriptLlm(opts: OpenAiScriptLlmOptions): ScriptLlm {
  const model = opts.model ?? 'gpt-4o-mini';
  // The SDK insists on a positive integer.
  const timeoutMs = Math.max(1, Math.round(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS));
  // Retries belong to the Temporal activity, which sees the classified error and Retry-After.
  const client = new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseURL, maxRetries: 0, timeout: timeoutMs });

  return {
    async completeJson(args: JsonCompletionArgs): Promise<JsonCompletion> {
      if (args.signal?.aborted) throw args.signal.reason;
      const server = `${client.baseURL} ${model}`;
      const known = acceptedFormats.get(server) ?? 'json_schema';
      const messages = (format: ResponseFormat): OpenAI.Chat.Completions.ChatCompletionMessageParam[] => [
        {
          role: 'system',
          content:
            format === 'json_schema'
              ? args.system
              : `${args.system}\n\nAnswer with one JSON object and nothing else. It follows this JSON Schema: ${JSON.stringify(args.jsonSchema)}`,
        },
        { role: 'user', content: args.user },
        ...(args.repair
          ? [
              { role: 'assistant' as const, content: args.repair.answer },
              { role: 'user' as const, content: `That answer cannot be used: ${args.repair.problem}. Answer again, with JSON that follows the schema.` },
            ]
          : []),
      ];
      const responseFormat = (format: ResponseFormat) =>
        format === 'json_schema'
          ? {
              response_format: {
                type: 'json_schema' as const,
                json_schema: { name: args.schemaName, schema: args.jsonSchema as Record<string, unknown>, strict: true },
              },
            }
          : format === 'json_object'
            ? { response_format: { type: 'json_object' as const } }
            : {};
      const deadline = startDeadline(timeoutMs, args.signal);
      let completion: OpenAI.Chat.Completions.ChatCompletion;
      try {
        for (let format = known; ;) {
          try {
            completion = await client.chat.completions.create(
              { model, messages: messages(format), ...responseFormat(format) },
              { signal: deadline.signal, maxRetries: 0, timeout: timeoutMs },
            );
            if (format !== known) acceptedFormats.set(server, format);
            break;
          } catch (err) {
            const plainer = PLAINER[format];
            if (!plainer || !mayRefuseFormat(err)) throw err;
            format = plainer;
          }
        }
      } catch (err) {
        throw classifyOpenAiError(err, 'LLM', args.signal, deadline);
      } finally {
        deadline.dispose();
      }

      const promptTokens = completion.usage?.prompt_tokens ?? 0;
      const completionTokens = completion.usage?.completion_tokens ?? 0;
      const choice = completion.choices[0];
      if (!choice) throw new ProviderError('LLM_BAD_OUTPUT', 'completion had no choices', true);
      // A refusal or a content-filter stop will be the same on a retry; fail the job instead.
      if (choice.message.refusal) {
        throw new ProviderError('LLM_REFUSED', `model refused: ${choice.message.refusal}`, false);
      }
      if (choice.finish_reason === 'content_filter') {
        throw new ProviderError('LLM_REFUSED', 'output was stopped by the content filter', false);
      }
      const content = choice.message.content;
      if (typeof content !== 'string' || content.length === 0) {
        throw new ProviderError(
          'LLM_BAD_OUTPUT',
          choice.finish_reason === 'length' ? 'output was cut off at the token limit' : 'completion had no content',
          true,
        );
      }
      let value: unknown;
      try {
        value = firstJsonObject(content);
      } catch (err) {
        const snippet = content.length > 200 ? `${content.slice(0, 200)}…` : content;
        // Some servers say `length` of an answer that is whole; one that is not was cut off.
        if (choice.finish_reason === 'length') {
          throw new BadJsonError(`output was cut off at the token limit: ${snippet}`, content, 'it was cut off at the length limit; answer more briefly');
        }
        throw new BadJsonError(`model output is not valid JSON (${(err as Error).message}): ${snippet}`, content);
      }
      return { value, content, promptTokens, completionTokens };
    },
  };
}
