/**
 * Work of different kinds waits in different task queues, each served by its own worker slots, so
 * none waits behind another: hundreds of lines queued for a provider never delay a job's
 * bookkeeping nor another job's script, a two-hour stitch never delays a line, and a backup never
 * delays any of them. Workflows and their bookkeeping run on the base queue (TEMPORAL_TASK_QUEUE);
 * the other lanes' queues are named after it:
 * - scripts: reading the source and writing the script (web sites and the LLM);
 * - lines: speaking lines and TTS chunks (the speech providers);
 * - media: stitching (ffmpeg, CPU-bound);
 * - operations: backups, reconciliations, housekeeping, quota resets, Stripe events and webhook deliveries.
 */
export type WorkLane = 'bookkeeping' | 'scripts' | 'lines' | 'media' | 'operations';

export function taskQueueOf(base: string, lane: WorkLane): string {
  return lane === 'bookkeeping' ? base : `${base}-${lane}`;
}

export const WORK_LANES: readonly WorkLane[] = ['bookkeeping', 'scripts', 'lines', 'media', 'operations'];
