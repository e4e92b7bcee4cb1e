import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config';
import type { Storage } from '../storage/types';

export function backupDir(config: Pick<Config, 'BACKUP_DIR' | 'DATA_DIR'>): string {
  return config.BACKUP_DIR ?? path.join(config.DATA_DIR, 'backups');
}

export interface BackupStore {
  where: string;
  /** Every file kept (dumps and their manifests). */
  list(): Promise<string[]>;
  /** A path to write a new file to before commit(). */
  staging(name: string): Promise<string>;
  /** Makes a staged file part of the backups, complete or not at all. Returns its size. */
  commit(name: string, staged: string): Promise<number>;
  /** A local path to read a kept file from (copied into tmpDir when remote). */
  localCopy(name: string, tmpDir: string): Promise<string>;
  remove(name: string): Promise<void>;
  /** Removes leftovers of interrupted runs. */
  sweep(): Promise<void>;
}

export function backupStore(config: Pick<Config, 'BACKUP_TARGET' | 'BACKUP_DIR' | 'DATA_DIR'>, storage: Storage): BackupStore {
  return config.BACKUP_TARGET === 'storage' ? storageStore(storage) : dirStore(backupDir(config));
}

/** A folder: dumps are written beside their final name and renamed into place. */
function dirStore(dir: string): BackupStore {
  const partial = (name: string) => path.join(dir, `.${name}.partial`);
  return {
    where: dir,
    async list() {
      return (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
    },
    async staging(name) {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      return partial(name);
    },
    async commit(name, staged) {
      await fs.rename(staged, path.join(dir, name));
      return (await fs.stat(path.join(dir, name))).size;
    },
    async localCopy(name) {
      const file = path.join(dir, name);
      await fs.access(file);
      return file;
    },
    async remove(name) {
      await fs.rm(path.join(dir, name), { force: true });
    },
    async sweep() {
      const dayAgo = Date.now() - 86_400_000;
      for (const n of await fs.readdir(dir).catch(() => [] as string[])) {
        if (!n.endsWith('.partial')) continue;
        const st = await fs.stat(path.join(dir, n)).catch(() => null);
        if (st && st.mtimeMs < dayAgo) await fs.rm(path.join(dir, n), { force: true });
      }
    },
  };
}

/**
 * The configured storage (S3 or its local folder) under backups/. Storage cannot list keys, so
 * backups/index.json names the files kept; a file is added to it only once uploaded.
 */
function storageStore(storage: Storage): BackupStore {
  const INDEX = 'backups/index.json';
  const key = (name: string) => `backups/${name}`;
  let tmpDir: string | null = null;
  const tmp = async () => (tmpDir ??= await fs.mkdtemp(path.join(os.tmpdir(), 'aimake-backup-')));
  const readIndex = async (): Promise<string[]> => {
    if (!(await storage.exists(INDEX))) return [];
    const file = path.join(await tmp(), `index-${crypto.randomUUID()}.json`);
    await storage.getFile(INDEX, file);
    try {
      return JSON.parse(await fs.readFile(file, 'utf8')) as string[];
    } finally {
      await fs.rm(file, { force: true });
    }
  };
  const writeIndex = async (names: string[]) => {
    const file = path.join(await tmp(), `index-${crypto.randomUUID()}.json`);
    await fs.writeFile(file, JSON.stringify([...new Set(names)].sort(), null, 1));
    try {
      await storage.putFile(INDEX, file, 'application/json');
    } finally {
      await fs.rm(file, { force: true });
    }
  };
  return {
    where: storage.uri('backups'),
    list: readIndex,
    async staging(name) {
      return path.join(await tmp(), name);
    },
    async commit(name, staged) {
      const { bytes } = await storage.putFile(key(name), staged, name.endsWith('.json') ? 'application/json' : 'application/octet-stream');
      await fs.rm(staged, { force: true });
      await writeIndex([...(await readIndex()), name]);
      return bytes;
    },
    async localCopy(name, dir) {
      const file = path.join(dir, name);
      await storage.getFile(key(name), file);
      return file;
    },
    async remove(name) {
      await storage.delete(key(name));
      await writeIndex((await readIndex()).filter((n) => n !== name));
    },
    async sweep() {
      if (tmpDir) await fs.rm(tmpDir, { recursive: true, force: true });
      tmpDir = null;
    },
  };
}
