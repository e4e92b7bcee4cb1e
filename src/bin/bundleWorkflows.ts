// The last step of `npm run build`: bundles the compiled workflows once, so production workers
// load the bundle (src/worker.ts) instead of running webpack at every start.
import fs from 'node:fs';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { PREBUILT_WORKFLOW_BUNDLE } from '../worker';

async function main() {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('WARN') });
  fs.writeFileSync(PREBUILT_WORKFLOW_BUNDLE, code);
  console.log(`workflow bundle: ${PREBUILT_WORKFLOW_BUNDLE} (${Math.round(code.length / 1024)} KiB)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
