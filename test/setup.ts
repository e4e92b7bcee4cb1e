// Global mocha setup, loaded before every test file (see .mocharc.json).
import { runTeardown } from './helpers/teardown';

process.env.NODE_ENV ??= 'test';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await runTeardown();
  },
};
