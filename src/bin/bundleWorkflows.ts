// The last step of `npm run build`: bundles the compiled workflows once, so production workers
// load the bundle (src/worker.ts) instead of running webpack at every start.
import fs from 'node:fs';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { PREBUILT_WORKFLOW_BUNDLES, TRACING_WORKFLOW_MODULES } from '../worker';

// Two bundles, as interceptors are built into a bundle: a traced worker (OTEL_EXPORTER_OTLP_ENDPOINT)
// loads the one with the tracing interceptors, any other the plain one.
async function main() {
  for (const [kind, codePath] of Object.entries(PREBUILT_WORKFLOW_BUNDLES)) {
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      workflowInterceptorModules: kind === 'traced' ? TRACING_WORKFLOW_MODULES : [],
      logger: new DefaultLogger('WARN'),
    });
    fs.writeFileSync(codePath, code);
    console.log(`workflow bundle (${kind}): ${codePath} (${Math.round(code.length / 1024)} KiB)`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
