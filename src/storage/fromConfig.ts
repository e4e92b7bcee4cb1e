import type { Config } from '../config';
import { createStorage } from '.';
import type { Storage } from './types';

/** The storage that STORAGE_DRIVER names: a local folder (default) or an S3-compatible bucket. */
export function storageFromConfig(config: Config): Storage {
  return createStorage({
    driver: config.STORAGE_DRIVER,
    localDir: config.storageDir,
    s3: config.S3_BUCKET
      ? {
          bucket: config.S3_BUCKET,
          region: config.S3_REGION,
          endpoint: config.S3_ENDPOINT,
          forcePathStyle: config.S3_FORCE_PATH_STYLE,
          accessKeyId: config.S3_ACCESS_KEY_ID,
          secretAccessKey: config.S3_SECRET_ACCESS_KEY,
        }
      : undefined,
  });
}
