export type BackupErrorCode = 'NO_BACKUP' | 'BACKUP_RESTORE_MISMATCH' | 'PG_TOOLS_MISSING' | 'INVALID_CONFIG';

/** A backup failure that trying again cannot fix (a missing dump or tool, a dump that restores differently). */
export class BackupError extends Error {
  constructor(
    readonly code: BackupErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'BackupError';
  }
}
