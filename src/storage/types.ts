export interface StoredObject {
  bytes: number;
  contentType?: string;
}

export interface Storage {
  readonly kind: 'local' | 's3';
  /** Streams the file in; the key only ever holds a complete object. */
  putFile(key: string, filePath: string, contentType: string): Promise<{ bytes: number }>;
  /** Streams the object to filePath (written atomically). Missing → ObjectNotFoundError. */
  getFile(key: string, filePath: string): Promise<void>;
  /** null when absent. */
  stat(key: string): Promise<StoredObject | null>;
  exists(key: string): Promise<boolean>;
  /**
   * Inclusive byte range; `end` past the last byte is clamped. Missing → ObjectNotFoundError;
   * `start` at or past the end of the object → RangeNotSatisfiableError.
   */
  read(key: string, range?: { start: number; end: number }): Promise<NodeJS.ReadableStream>;
  /** Absent is fine. */
  delete(key: string): Promise<void>;
  /**
   * Removes every object under the folder `prefix` (a trailing '/' is implied, so 'a/b' never
   * touches 'a/bc/...'). Returns how many objects were removed.
   */
  deletePrefix(prefix: string): Promise<number>;
  /** Absolute path for local storage (lets ffmpeg read in place), null for S3. */
  localPath(key: string): string | null;
  /** Recorded in the DB: 'local:<key>' or 's3://bucket/key'. */
  uri(key: string): string;
  /** Inverse of uri(); throws for a URI this storage did not produce (other driver, bucket or prefix). */
  keyOf(uri: string): string;
}

export class UnsafeKeyError extends Error {
  override readonly name = 'UnsafeKeyError';
  constructor(
    readonly key: unknown,
    reason: string,
  ) {
    super(`unsafe storage key ${JSON.stringify(key)}: ${reason}`);
  }
}

export class ObjectNotFoundError extends Error {
  override readonly name = 'ObjectNotFoundError';
  readonly code = 'NOT_FOUND';
  constructor(readonly key: string) {
    super(`stored object not found: ${key}`);
  }
}

export class RangeNotSatisfiableError extends Error {
  override readonly name = 'RangeNotSatisfiableError';
  constructor(
    readonly key: string,
    readonly range: { start: number; end: number },
  ) {
    super(`range ${range.start}-${range.end} not satisfiable for ${key}`);
  }
}

// S3 caps keys at 1024 bytes; most filesystems cap a name at 255 bytes.
const MAX_KEY_BYTES = 1024;
const MAX_SEGMENT_BYTES = 255;

/**
 * Keys look like 'podcasts/<uuid>/segments/0003-<hex>.wav'. They become file paths for local
 * storage, so anything that could escape the root or alias another key is refused.
 */
export function assertSafeKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new UnsafeKeyError(key, 'empty');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new UnsafeKeyError(key, `longer than ${MAX_KEY_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(key)) throw new UnsafeKeyError(key, 'control character');
  if (key.includes('\\')) throw new UnsafeKeyError(key, 'backslash');
  if (key.startsWith('/')) throw new UnsafeKeyError(key, 'absolute path');
  if (/^[A-Za-z]:/.test(key)) throw new UnsafeKeyError(key, 'drive-qualified path');
  for (const segment of key.split('/')) {
    if (segment === '') throw new UnsafeKeyError(key, 'empty path segment');
    if (segment === '.' || segment === '..') throw new UnsafeKeyError(key, `'${segment}' segment`);
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) {
      throw new UnsafeKeyError(key, `segment longer than ${MAX_SEGMENT_BYTES} bytes`);
    }
  }
}

/** Folder prefixes may end in '/'; the rest follows key rules (an empty prefix would mean "everything"). */
export function normalizePrefix(prefix: string): string {
  const trimmed = typeof prefix === 'string' && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  assertSafeKey(trimmed);
  return trimmed;
}

/** Shared by the drivers' keyOf(): strips the expected URI head and re-checks the key. */
export function keyFromUri(uri: string, head: string): string {
  if (typeof uri !== 'string' || !uri.startsWith(head)) {
    throw new Error(`storage URI ${JSON.stringify(uri)} does not belong to this storage (expected ${head}…)`);
  }
  const key = uri.slice(head.length);
  assertSafeKey(key);
  return key;
}

export function validateRange(key: string, range: { start: number; end: number }): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`invalid byte range ${start}-${end} for ${key}`);
  }
}
