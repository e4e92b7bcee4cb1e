import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { workflowBundle } from '../helpers/stack';

const DIR = path.resolve(__dirname, '../fixtures/histories');
const histories = fs.readdirSync(DIR).filter((f) => f.endsWith('.json'));

describe('workflow replay from recorded histories', function () {
  this.timeout(120_000);

  it('has recorded histories to replay', () => {
    assert.ok(histories.length >= 4, histories.join(', '));
  });

  for (const file of histories) {
    it(`replays ${file} deterministically on the current workflow code`, async () => {
      const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')));
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file.replace('.json', ''));
    });
  }

  it('rejects an incompatible change to the podcast workflow with DeterminismViolationError', async () => {
    const changed = await bundleWorkflowCode({
      workflowsPath: require.resolve('../fixtures/changedWorkflows'),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never,
    });
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(DIR, 'podcast-completed.json'), 'utf8')));
    await assert.rejects(Worker.runReplayHistory({ workflowBundle: changed }, history, 'podcast-completed'), DeterminismViolationError);
  });
});
