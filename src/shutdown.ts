import exitHook from 'async-exit-hook';

/**
 * One shutdown mechanism per process. The embedded PostgreSQL registers its own stop with
 * async-exit-hook, which exits the process once every registered hook has finished; our hooks
 * (stop the API, drain the worker, stop child processes) join the same list so that Ctrl-C or
 * SIGTERM waits for all of them instead of racing them.
 */
exitHook.forceExitTimeout(30_000);

export function onShutdown(task: () => Promise<unknown>): void {
  exitHook((done) => {
    task()
      .catch((err) => console.error('shutdown step failed:', err))
      .finally(done);
  });
}
