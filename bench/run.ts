import { runTeardown } from '../test/helpers/teardown';

/**
 * Runs a benchmark's main, then tears down what it started (Temporal dev server, databases,
 * storage folders, fakes) and exits: 0 when it finished, 1 when it failed, 130/143 when stopped.
 */
export function runBench(main: () => Promise<void>): void {
  let exiting = false;
  const finish = async (code: number) => {
    if (exiting) return;
    exiting = true;
    await runTeardown();
    process.exit(code);
  };
  process.once('SIGINT', () => void finish(130));
  process.once('SIGTERM', () => void finish(143));
  main().then(
    () => finish(0),
    (err: unknown) => {
      console.error('bench failed:', err);
      return finish(1);
    },
  );
}
