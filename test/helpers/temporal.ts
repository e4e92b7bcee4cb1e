import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/searchAttributes';
import { temporalCliPath } from '../../src/temporal/devServer';
import { onTeardown } from './teardown';

/**
 * One real Temporal dev server for the whole run, started from the CLI that scripts/toolchain.sh
 * installed (nothing is downloaded), with our search attributes registered.
 */
let env: Promise<TestWorkflowEnvironment> | undefined;

export function testTemporal(): Promise<TestWorkflowEnvironment> {
  env ??= (async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    const e = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: temporalCliPath(path.resolve(__dirname, '../../.tools')) },
        ip: '127.0.0.1',
        searchAttributes: SEARCH_ATTRIBUTES,
        extraArgs: ['--log-level', 'error'],
      },
    });
    onTeardown(() => e.teardown());
    return e;
  })();
  return env;
}
