import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/searchAttributes';
import { temporalCliPath } from '../../src/temporal/devServer';
import { onTeardown } from './teardown';

/**
 * One real Temporal dev server for the whole run, started from the CLI that scripts/toolchain.sh
 * installed (nothing is downloaded), with our search attributes registered.
 */
let env: Promise<TestWorkflowEnvironment> | undefined;
let runtimeInstalled = false;

/** The SDK's runtime, installed once per test process before any worker or replay needs it. */
export function installTestRuntime() {
  if (runtimeInstalled) return;
  // Tests provoke failures on purpose; only errors are worth printing.
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR', other: 'ERROR' }), forward: {} } },
  });
  runtimeInstalled = true;
}

export function testTemporal(): Promise<TestWorkflowEnvironment> {
  env ??= (async () => {
    const e = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: temporalCliPath(path.resolve(__dirname, '../../.tools')) },
        ip: '127.0.0.1',
        searchAttributes: SEARCH_ATTRIBUTES,
        // One dev server serves the whole suite, and every test stack's worker polls five lanes until the
        // run ends: lift the per-namespace limit on concurrent polls (default 1,200) that a long suite reaches.
        extraArgs: [
          '--log-level',
          'error',
          '--dynamic-config-value',
          'frontend.namespaceCount=100000',
          '--dynamic-config-value',
          'frontend.globalNamespaceCount=100000',
        ],
      },
    });
    onTeardown(() => e.teardown());
    return e;
  })();
  return env;
}
