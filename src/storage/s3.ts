import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { writeAtomically } from './local';
import { ObjectNotFoundError, RangeNotSatisfiableError, assertSafeKey, keyFromUri, normalizePrefix, validateRange, type Storage } from './types';

export interface S3StorageOptions {
  bucket: string;
  region?: string;
  endpoint?: string;
  /** Defaults to true when `endpoint` is set: S3-compatible servers rarely have per-bucket DNS. */
  forcePathStyle?: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Folder inside the bucket that every key lives under. */
  prefix?: string;
  /** Files larger than this go up as multipart uploads (default 64 MiB). */
  multipartThresholdBytes?: number;
  /** Multipart part size (default 16 MiB; S3 requires ≥ 5 MiB for all but the last part). */
  partSizeBytes?: number;
  /** Parts uploaded at once (default 4). */
  partConcurrency?: number;
}

const MiB = 1024 * 1024;
const MAX_PARTS = 10_000;
const UPLOAD_ATTEMPTS = 4;

type AwsError = { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
const httpStatus = (err: unknown) => (err as AwsError)?.$metadata?.httpStatusCode;
const errName = (err: unknown) => (err as AwsError)?.name;

const isMissingObject = (err: unknown) =>
  errName(err) === 'NoSuchKey' || errName(err) === 'NotFound' || (httpStatus(err) === 404 && errName(err) !== 'NoSuchBucket');

function isRetryable(err: unknown): boolean {
  if ((err as AwsError)?.$retryable) return true;
  const status = httpStatus(err);
  // No HTTP status means the request never got an answer (socket reset, timeout).
  if (status === undefined) return true;
  return status >= 500 || status === 408 || status === 429;
}

/**
 * The SDK's own retries cannot rewind a file stream, so uploads run on a client with retries off
 * and are retried here with a fresh stream each time.
 */
async function withFreshStreamRetries<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= UPLOAD_ATTEMPTS || !isRetryable(err)) throw err;
      // Jitter keeps competing uploads of the same key from colliding again in lockstep.
      await new Promise((r) => setTimeout(r, 200 * 2 ** (i - 1) * (0.5 + Math.random())));
    }
  }
}

export function createS3Storage(opts: S3StorageOptions): Storage {
  const { bucket } = opts;
  if (!bucket) throw new Error('S3 storage needs a bucket');
  const keyPrefix = opts.prefix ? normalizePrefix(opts.prefix.replace(/^\/+/, '')) + '/' : '';
  const threshold = opts.multipartThresholdBytes ?? 64 * MiB;
  const basePartSize = opts.partSizeBytes ?? 16 * MiB;
  const partConcurrency = Math.max(1, opts.partConcurrency ?? 4);

  const config: S3ClientConfig = {
    region: opts.region ?? 'us-east-1',
    endpoint: opts.endpoint,
    forcePathStyle: opts.forcePathStyle ?? Boolean(opts.endpoint),
    // Checksums only where the API demands them: many S3-compatible servers reject the newer
    // default CRC trailers / aws-chunked bodies.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(opts.accessKeyId && opts.secretAccessKey ? { credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey } } : {}),
  };
  const client = new S3Client(config);
  const uploadClient = new S3Client({
    ...config,
    maxAttempts: 1,
    // The SDK warns that it cannot retry streamed bodies; withFreshStreamRetries does, so that line only misleads.
    logger: {
      debug: () => undefined,
      info: () => undefined,
      warn: (...args: unknown[]) => {
        if (!String(args[0]).includes('non-retryable streaming request')) console.warn(...args);
      },
      // Failed commands are logged here with their whole input; the error reaches our caller anyway.
      error: () => undefined,
    },
  });

  const fullKey = (key: string) => {
    assertSafeKey(key);
    return keyPrefix + key;
  };

  async function putSingle(Key: string, filePath: string, size: number, ContentType: string) {
    await withFreshStreamRetries(() =>
      uploadClient.send(new PutObjectCommand({ Bucket: bucket, Key, Body: createReadStream(filePath), ContentLength: size, ContentType })),
    );
  }

  async function putMultipart(Key: string, filePath: string, size: number, ContentType: string) {
    const partSize = Math.max(basePartSize, Math.ceil(size / MAX_PARTS));
    const partCount = Math.ceil(size / partSize);
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key, ContentType }));
    if (!UploadId) throw new Error(`S3 returned no UploadId for ${Key}`);
    try {
      const parts: CompletedPart[] = new Array(partCount);
      let next = 0;
      let failed = false;
      const worker = async () => {
        while (!failed && next < partCount) {
          const index = next++;
          const start = index * partSize;
          const end = Math.min(size, start + partSize) - 1;
          try {
            const res = await withFreshStreamRetries(() =>
              uploadClient.send(
                new UploadPartCommand({
                  Bucket: bucket,
                  Key,
                  UploadId,
                  PartNumber: index + 1,
                  Body: createReadStream(filePath, { start, end }),
                  ContentLength: end - start + 1,
                }),
              ),
            );
            parts[index] = { PartNumber: index + 1, ETag: res.ETag };
          } catch (err) {
            failed = true; // stop the other workers from starting parts that would be thrown away
            throw err;
          }
        }
      };
      const results = await Promise.allSettled(Array.from({ length: Math.min(partConcurrency, partCount) }, worker));
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rejected) throw rejected.reason;
      await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      // Unfinished uploads keep their parts (and cost) until aborted.
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId })).catch(() => undefined);
      throw err;
    }
  }

  async function getObject(key: string, range?: { start: number; end: number }) {
    try {
      return await client.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: fullKey(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
    } catch (err) {
      if (isMissingObject(err)) throw new ObjectNotFoundError(key);
      if (range && (errName(err) === 'InvalidRange' || httpStatus(err) === 416)) {
        throw new RangeNotSatisfiableError(key, range);
      }
      throw err;
    }
  }

  const bodyStream = (body: unknown): Readable => (body instanceof Readable ? body : Readable.from([]));

  const storage: Storage = {
    kind: 's3',

    async putFile(key, filePath, contentType) {
      const Key = fullKey(key);
      const { size } = await fsp.stat(filePath);
      if (size > threshold) await putMultipart(Key, filePath, size, contentType);
      else await putSingle(Key, filePath, size, contentType);
      return { bytes: size };
    },

    async getFile(key, filePath) {
      const res = await getObject(key);
      const body = bodyStream(res.Body);
      try {
        await writeAtomically(path.resolve(filePath), (tmp) => pipeline(body, createWriteStream(tmp, { flags: 'wx' })));
      } finally {
        body.destroy();
      }
    },

    async stat(key) {
      try {
        const res = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: fullKey(key) }));
        return { bytes: res.ContentLength ?? 0, ...(res.ContentType ? { contentType: res.ContentType } : {}) };
      } catch (err) {
        if (isMissingObject(err)) return null;
        throw err;
      }
    },

    async exists(key) {
      return (await storage.stat(key)) !== null;
    },

    async read(key, range) {
      if (range) validateRange(key, range);
      return bodyStream((await getObject(key, range)).Body);
    },

    async delete(key) {
      // S3 answers 204 for absent keys too.
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: fullKey(key) }));
    },

    async deletePrefix(prefix) {
      const Prefix = fullKey(normalizePrefix(prefix)) + '/';
      let removed = 0;
      let ContinuationToken: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix, MaxKeys: 1000, ContinuationToken }));
        const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
        if (keys.length) {
          const res = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
          const errors = res.Errors ?? [];
          removed += keys.length - errors.length;
          if (errors.length) {
            const e = errors[0]!;
            throw new Error(`deletePrefix ${prefix}: ${errors.length} object(s) not deleted, e.g. ${e.Key}: ${e.Code} ${e.Message}`);
          }
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
      return removed;
    },

    localPath(key) {
      assertSafeKey(key);
      return null;
    },

    uri(key) {
      return `s3://${bucket}/${fullKey(key)}`;
    },

    keyOf(uri) {
      return keyFromUri(uri, `s3://${bucket}/${keyPrefix}`);
    },
  };
  return storage;
}
