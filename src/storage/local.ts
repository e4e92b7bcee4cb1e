import { randomBytes } from 'node:crypto';
import { constants as fsConstants, createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  ObjectNotFoundError,
  RangeNotSatisfiableError,
  assertSafeKey,
  keyFromUri,
  normalizePrefix,
  validateRange,
  type Storage,
  type StoredObject,
} from './types';

// Temp files live next to their target so the final rename stays on one filesystem (atomic).
const TEMP_RE = /^\.tmp-[0-9a-f]{16}-/;
const tempName = (base: string) => `.tmp-${randomBytes(8).toString('hex')}-${base}`.slice(0, 255);

const isErrno = (err: unknown, ...codes: string[]) => typeof err === 'object' && err !== null && codes.includes((err as NodeJS.ErrnoException).code ?? '');

/**
 * Writes `produce(tmp)` to a temp file beside `dest`, fsyncs it and renames it over `dest`, so
 * readers and crashes only ever see the old file or the complete new one. `rerunnable` says
 * `produce` may be called again (a consumed stream may not).
 */
export async function writeAtomically(dest: string, produce: (tmp: string) => Promise<void>, { rerunnable = false } = {}): Promise<number> {
  const dir = path.dirname(dest);
  // A concurrent deletePrefix may remove the folder between mkdir and the write; retry once.
  for (let attempt = 0; ; attempt++) {
    await fsp.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, tempName(path.basename(dest)));
    try {
      await produce(tmp);
      const fh = await fsp.open(tmp, 'r+');
      let size: number;
      try {
        await fh.sync();
        size = (await fh.stat()).size;
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, dest);
      return size;
    } catch (err) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      if (rerunnable && attempt === 0 && isErrno(err, 'ENOENT') && (await isMissingDir(dir))) continue;
      throw err;
    }
  }
}

async function isMissingDir(dir: string): Promise<boolean> {
  try {
    await fsp.stat(dir);
    return false;
  } catch {
    return true;
  }
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) n += await countFiles(path.join(dir, entry.name));
    else if (!TEMP_RE.test(entry.name)) n++;
  }
  return n;
}

export function createLocalStorage(rootDir: string): Storage {
  const root = path.resolve(rootDir);

  const resolve = (key: string): string => {
    assertSafeKey(key);
    const p = path.join(root, ...key.split('/'));
    // assertSafeKey already rules out escapes; this guards against future changes to it.
    if (!p.startsWith(root + path.sep)) throw new Error(`storage key escapes root: ${key}`);
    return p;
  };

  const statFile = async (key: string): Promise<StoredObject | null> => {
    try {
      const s = await fsp.stat(resolve(key));
      return s.isFile() ? { bytes: s.size } : null;
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) return null;
      throw err;
    }
  };

  const openForRead = async (key: string) => {
    try {
      const fh = await fsp.open(resolve(key), 'r');
      const s = await fh.stat().catch(async (err) => {
        await fh.close();
        throw err;
      });
      if (!s.isFile()) {
        await fh.close();
        throw new ObjectNotFoundError(key);
      }
      return { fh, size: s.size };
    } catch (err) {
      if (isErrno(err, 'ENOENT', 'ENOTDIR', 'EISDIR')) throw new ObjectNotFoundError(key);
      throw err;
    }
  };

  return {
    kind: 'local',

    async putFile(key, filePath, _contentType) {
      const dest = resolve(key);
      // copyFile streams in the kernel (or reflinks) instead of buffering in JS.
      const bytes = await writeAtomically(dest, (tmp) => fsp.copyFile(filePath, tmp, fsConstants.COPYFILE_EXCL), {
        rerunnable: true,
      });
      return { bytes };
    },

    async getFile(key, filePath) {
      const { fh } = await openForRead(key);
      try {
        await writeAtomically(
          path.resolve(filePath),
          (tmp) => pipeline(fh.createReadStream({ start: 0, autoClose: false }), createWriteStream(tmp, { flags: 'wx' })),
          { rerunnable: true },
        );
      } finally {
        await fh.close();
      }
    },

    stat: statFile,

    async exists(key) {
      return (await statFile(key)) !== null;
    },

    async read(key, range) {
      if (range) validateRange(key, range);
      const { fh, size } = await openForRead(key);
      if (range && range.start >= size) {
        await fh.close();
        throw new RangeNotSatisfiableError(key, range);
      }
      // The stream owns the handle from here and closes it when done or destroyed.
      return fh.createReadStream(range ? { start: range.start, end: Math.min(range.end, size - 1) } : {});
    },

    async delete(key) {
      try {
        await fsp.unlink(resolve(key));
      } catch (err) {
        // A folder is not an object, so it counts as absent too.
        if (!isErrno(err, 'ENOENT', 'ENOTDIR', 'EISDIR', 'EPERM')) throw err;
      }
    },

    async deletePrefix(prefix) {
      const dir = resolve(normalizePrefix(prefix));
      let count: number;
      try {
        count = await countFiles(dir);
      } catch (err) {
        if (isErrno(err, 'ENOENT', 'ENOTDIR')) return 0;
        throw err;
      }
      await fsp.rm(dir, { recursive: true, force: true });
      return count;
    },

    localPath(key) {
      return resolve(key);
    },

    uri(key) {
      assertSafeKey(key);
      return `local:${key}`;
    },

    keyOf(uri) {
      return keyFromUri(uri, 'local:');
    },
  };
}
