/**
 * The LLM that writes podcast scripts: OpenAI chat completions with strict JSON-schema output.
 * Validation of the parsed value against the caller's own types is left to the caller.
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

/** The model answered with text that is not JSON; `content` is what it wrote, for a repair. */
export class BadJsonError extends ProviderError {
  constructor(
    message: string,
    readonly content: string,
  ) {
    super('LLM_BAD_OUTPUT', message, true);
  }
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
      const deadline = startDeadline(timeoutMs, args.signal);
      let completion: OpenAI.Chat.Completions.ChatCompletion;
      try {
        completion = await client.chat.completions.create(
          {
            model,
            messages: [
              { role: 'system', content: args.system },
              { role: 'user', content: args.user },
              ...(args.repair
                ? [
                    { role: 'assistant' as const, content: args.repair.answer },
                    { role: 'user' as const, content: `That answer cannot be used: ${args.repair.problem}. Answer again, with JSON that follows the schema.` },
                  ]
                : []),
            ],
            response_format: {
              type: 'json_schema',
              json_schema: { name: args.schemaName, schema: args.jsonSchema as Record<string, unknown>, strict: true },
            },
          },
          { signal: deadline.signal, maxRetries: 0, timeout: timeoutMs },
        );
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
      if (choice.finish_reason === 'length') {
        throw new ProviderError('LLM_BAD_OUTPUT', 'output was cut off at the token limit', true);
      }
      if (typeof content !== 'string' || content.length === 0) {
        throw new ProviderError('LLM_BAD_OUTPUT', 'completion had no content', true);
      }
      let value: unknown;
      try {
        value = JSON.parse(content);
      } catch (err) {
        const snippet = content.length > 200 ? `${content.slice(0, 200)}…` : content;
        throw new BadJsonError(`model output is not valid JSON (${(err as Error).message}): ${snippet}`, content);
      }
      return { value, content, promptTokens, completionTokens };
    },
  };
}
