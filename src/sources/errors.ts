/** Why a source (a URL, an uploaded document) could not be read; the code becomes the job's error code. */
export type SourceErrorCode =
  | 'SOURCE_INVALID_URL'
  | 'SOURCE_FORBIDDEN_ADDRESS'
  | 'SOURCE_TOO_LARGE'
  | 'SOURCE_TIMEOUT'
  | 'SOURCE_HTTP_ERROR'
  | 'SOURCE_FETCH_FAILED'
  | 'SOURCE_UNSUPPORTED_TYPE'
  | 'SOURCE_EMPTY'
  | 'SOURCE_TOO_MANY_REDIRECTS'
  | 'SOURCE_UNREADABLE'
  | 'SOURCE_NOT_FOUND';

export class SourceError extends Error {
  readonly code: SourceErrorCode;
  readonly retryable: boolean;
  /** HTTP status for SOURCE_HTTP_ERROR. */
  readonly status?: number;

  constructor(code: SourceErrorCode, message: string, opts: { retryable?: boolean; status?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SourceError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
    if (opts.status !== undefined) this.status = opts.status;
  }
}
