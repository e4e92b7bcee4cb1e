import { createLocalStorage } from './local';
import { createS3Storage, type S3StorageOptions } from './s3';
import type { Storage } from './types';

export * from './types';
export { createLocalStorage } from './local';
export { createS3Storage, type S3StorageOptions } from './s3';

export interface StorageConfig {
  driver: 'local' | 's3';
  localDir: string;
  s3?: S3StorageOptions;
}

export function createStorage(cfg: StorageConfig): Storage {
  switch (cfg.driver) {
    case 'local':
      return createLocalStorage(cfg.localDir);
    case 's3':
      if (!cfg.s3?.bucket) throw new Error("storage driver 's3' needs s3.bucket");
      return createS3Storage(cfg.s3);
    default:
      throw new Error(`unknown storage driver: ${String((cfg as { driver: unknown }).driver)}`);
  }
}
