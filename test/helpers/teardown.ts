// Run-wide teardown, executed (last registered first) by the root afterAll hook in test/setup.ts.
const tasks: Array<() => Promise<unknown> | unknown> = [];

export function onTeardown(task: () => Promise<unknown> | unknown): void {
  tasks.push(task);
}

export async function runTeardown(): Promise<void> {
  while (tasks.length) {
    const task = tasks.pop()!;
    try {
      await task();
    } catch (err) {
      console.error('teardown failed:', err);
    }
  }
}
