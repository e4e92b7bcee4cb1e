// Global mocha setup, loaded before every test file (see .mocharc.json).
import { installTestRuntime } from './helpers/temporal';
import { runTeardown } from './helpers/teardown';

process.env.NODE_ENV ??= 'test';
installTestRuntime();

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await runTeardown();
  },
};
