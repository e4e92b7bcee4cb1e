import { ApplicationFailure, CancellationScope, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { failureInfo, inPool, laneActivities, speechActivities } from './shared';
import type { AudioWorkflowInput } from './types';

const db = proxyActivities<Activities>({ startToCloseTimeout: '30s', retry: { initialInterval: '1s', maximumInterval: '30s' } });

/** Text to speech (workflow id `audio-<audioId>`): split, speak in parallel, stitch, complete. */
export async function audioWorkflow(input: AudioWorkflowInput): Promise<{ key: string; duration: number }> {
  const { audioId } = input;
  const speech = speechActivities(input.lineHeartbeatTimeoutSec);
  const stitcher = laneActivities('media', { startToCloseTimeout: '30m', heartbeatTimeout: '1m', retry: { initialInterval: '5s', maximumAttempts: 5 } });
  try {
    const plan = await db.planAudio({ audioId });
    await db.recordAudioStage({ audioId, status: 'synthesizing', progress: 10, currentStep: `Synthesizing ${plan.chunks} part(s)` });
    const indexes = Array.from({ length: plan.chunks }, (_, i) => i);
    // Plans recorded before the job's concurrency followed its provider's lane carry none.
    const segments = await inPool(indexes, plan.concurrency ?? input.synthConcurrency, (index) =>
      speech.synthesizeAudioChunk.executeWithOptions({ summary: `part ${index + 1}/${plan.chunks}` }, [{ audioId, index, total: plan.chunks }]),
    );

    await db.recordAudioStage({ audioId, status: 'processing', progress: 90, currentStep: 'Stitching audio' });
    const audio = await stitcher.stitchAudio.executeWithOptions({ summary: `stitch ${segments.length} parts` }, [{ audioId, segments }]);
    const costs = segments.map((s) => s.apiCost).filter((c): c is number => c !== null);
    await db.completeAudio({ audioId, ...audio, apiCost: costs.length ? costs.reduce((a, b) => a + b, 0) : null });
    return { key: audio.key, duration: audio.duration };
  } catch (err) {
    const failure = failureInfo(err);
    await CancellationScope.nonCancellable(() => db.failAudio({ audioId, ...failure }));
    throw ApplicationFailure.nonRetryable(failure.message, failure.code);
  }
}
