import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Knex } from 'knex';
import { AppError } from '../errors';
import type { Upload, User } from '../models';
import { DOCUMENT_CONTENT_TYPES, documentKindOf, extractDocument, type DocumentKind } from '../sources/documents';
import { SourceError } from '../sources/errors';
import { ObjectNotFoundError, type Storage } from '../storage/types';

/**
 * Documents uploaded as podcast sources (API.md, "Documents as sources"). The original bytes are
 * stored under `uploads/<user id>/<id>`; their text is read once at upload time, to refuse a file
 * with none and to tell the caller how much there is, and again by the podcast's analyzing stage
 * (readUploadedDocument), so the stored original stays the one truth and a better extractor
 * serves old uploads too. An upload nobody used expires after 24 hours; the first podcast made
 * from it marks it used, which keeps it as long as that podcast may be retried.
 */
export const UPLOAD_TTL_HOURS = 24;
const PREVIEW_CHARS = 500;
// Enough of a file's start to recognise what it is.
const HEAD_BYTES = 1024;

export const uploadKey = (userId: string, uploadId: string) => `uploads/${userId}/${uploadId}`;

/** A file the API has received whole (src/api/multipart.ts), waiting in a temporary file. */
export interface ReceivedFile {
  path: string;
  filename: string;
  /** As the client declared it; only consulted to tell Markdown from plain text. */
  contentType: string | null;
  bytes: number;
}

const invalidFile = (message: string) => new AppError('VALIDATION_FAILED', message, { fields: [{ field: 'body.file', message }] });

const kindOfContentType = (contentType: string): DocumentKind | undefined =>
  (Object.keys(DOCUMENT_CONTENT_TYPES) as DocumentKind[]).find((k) => DOCUMENT_CONTENT_TYPES[k] === contentType);

/** The first `n` characters, never splitting a character outside the Basic Multilingual Plane. */
const firstChars = (text: string, n: number) =>
  Array.from(text.slice(0, n * 2))
    .slice(0, n)
    .join('');

export class UploadService {
  constructor(
    private readonly knex: Knex,
    private readonly storage: Storage,
  ) {}

  /** Reads, checks and stores a received file; 400 for a file that is not a document or has no text. */
  async create(user: User, file: ReceivedFile): Promise<{ upload: Upload; preview: string }> {
    const bytes = await fs.readFile(file.path);
    const kind = documentKindOf({ filename: file.filename, contentType: file.contentType, head: bytes.subarray(0, HEAD_BYTES) });
    if (!kind) throw invalidFile('Upload a PDF, a Word document (.docx), a Markdown file (.md) or a plain-text file (.txt)');
    let text: string;
    try {
      text = (await extractDocument(bytes, kind)).text;
    } catch (err) {
      if (err instanceof SourceError) throw invalidFile(err.message);
      throw err;
    }
    if (!text) {
      throw invalidFile(
        kind === 'pdf'
          ? 'The PDF has no text layer (a scanned document?): upload one whose text can be selected'
          : 'The file has no text to make a podcast from',
      );
    }

    const id = crypto.randomUUID();
    const key = uploadKey(user.id, id);
    await this.storage.putFile(key, file.path, DOCUMENT_CONTENT_TYPES[kind]);
    try {
      const [upload] = await this.knex('uploads')
        .insert({
          id,
          user_id: user.id,
          filename: file.filename,
          content_type: DOCUMENT_CONTENT_TYPES[kind],
          bytes: bytes.length,
          characters: text.length,
          storage_key: key,
          expires_at: this.knex.raw(`NOW() + make_interval(hours => ?)`, [UPLOAD_TTL_HOURS]),
        })
        .returning('*');
      if (!upload) throw new Error('insert returned no upload');
      return { upload, preview: firstChars(text, PREVIEW_CHARS) };
    } catch (err) {
      await this.storage.delete(key).catch(() => undefined);
      throw err;
    }
  }
}

/**
 * Marks the caller's upload used by a podcast being created in `trx`, so housekeeping keeps it.
 * 404 for no such upload, another user's, or an unused one past its expiry (housekeeping may
 * already have removed it: the answer must not depend on whether it has). The row lock this
 * UPDATE takes orders it with housekeeping's removal: whichever comes second sees the other's work.
 */
/** The caller's upload as a request would use it (an estimate looks without using it); 404 like useUpload. */
export async function usableUpload(knex: Knex, user: User, uploadId: string): Promise<Upload> {
  const upload = await knex('uploads').where({ id: uploadId, user_id: user.id }).first();
  if (upload && (upload.used_at || upload.expires_at > new Date())) return upload;
  throw new AppError('NOT_FOUND', upload ? `Upload ${uploadId} has expired: upload the file again` : 'Upload not found');
}

export async function useUpload(trx: Knex.Transaction, user: User, uploadId: string): Promise<Upload> {
  const [upload] = await trx('uploads')
    .where({ id: uploadId, user_id: user.id })
    .where((q) => q.whereNotNull('used_at').orWhere('expires_at', '>', trx.fn.now()))
    .update({ used_at: trx.raw('COALESCE(used_at, NOW())') })
    .returning('*');
  if (upload) return upload;
  const expired = await trx('uploads').where({ id: uploadId, user_id: user.id }).first();
  throw new AppError(
    'NOT_FOUND',
    expired ? `Upload ${uploadId} has expired (uploads not used within ${UPLOAD_TTL_HOURS} hours are removed): upload the file again` : 'Upload not found',
  );
}

/**
 * The analyzing stage's read of an uploaded source: the stored original, extracted again.
 * Text is '' for a document without a text layer; the title is the document's own, else its file
 * name without the extension.
 */
export async function readUploadedDocument(deps: { knex: Knex; storage: Storage }, userId: string, uploadId: string): Promise<{ text: string; title: string }> {
  const upload = await deps.knex('uploads').where({ id: uploadId, user_id: userId }).first();
  const kind = upload && kindOfContentType(upload.content_type);
  if (!upload || !kind) throw new SourceError('SOURCE_NOT_FOUND', 'The uploaded document no longer exists: upload it again');
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of await deps.storage.read(upload.storage_key)) chunks.push(Buffer.from(chunk));
  } catch (err) {
    if (err instanceof ObjectNotFoundError) throw new SourceError('SOURCE_NOT_FOUND', 'The uploaded document no longer exists: upload it again');
    throw err;
  }
  const doc = await extractDocument(Buffer.concat(chunks), kind);
  return { text: doc.text, title: doc.title ?? path.parse(upload.filename).name };
}

/**
 * Housekeeping: unused uploads past their expiry, row and file, one at a time until `deadline`
 * (epoch ms; the rest wait for the next run). Each row stays locked until its file is gone, so a
 * podcast created meanwhile either marked it used first (and it stays) or finds it gone (404).
 */
export async function removeExpiredUploads(
  knex: Knex,
  storage: Storage,
  opts: { deadline: number; onError?: (uploadId: string, err: unknown) => void },
): Promise<{ removed: number; failed: number }> {
  const done = { removed: 0, failed: 0 };
  const expired = (q: Knex.QueryBuilder) => q.whereNull('used_at').where('expires_at', '<=', knex.fn.now());
  const ids: string[] = await knex('uploads').modify(expired).orderBy('expires_at').limit(10_000).pluck('id');
  for (const id of ids) {
    if (Date.now() > opts.deadline) break;
    try {
      const removed = await knex.transaction(async (trx) => {
        const upload = await trx('uploads').where({ id }).modify(expired).forUpdate().first();
        if (!upload) return false;
        await storage.delete(upload.storage_key);
        await trx('uploads').where({ id }).delete();
        return true;
      });
      if (removed) done.removed++;
    } catch (err) {
      done.failed++;
      opts.onError?.(id, err);
    }
  }
  return done;
}
