import { Client, Connection } from '@temporalio/client';

/**
 * The API's handle on Temporal. It connects on first use and again after a failure, so the API
 * starts (and reports not-ready) while Temporal is still coming up instead of refusing to start.
 */
export class TemporalGateway {
  private connecting?: Promise<Client>;

  constructor(
    readonly address: string,
    readonly namespace: string,
    readonly taskQueue: string,
  ) {}

  client(): Promise<Client> {
    this.connecting ??= Connection.connect({ address: this.address, connectTimeout: '3s' })
      .then((connection) => new Client({ connection, namespace: this.namespace }))
      .catch((err) => {
        this.connecting = undefined;
        throw err;
      });
    return this.connecting;
  }

  /** Resolves when the frontend answers and the namespace exists. */
  async check(timeoutMs = 2000): Promise<void> {
    const client = await this.client();
    await client.connection.withDeadline(Date.now() + timeoutMs, () => client.workflowService.describeNamespace({ namespace: this.namespace }));
  }

  async close(): Promise<void> {
    const pending = this.connecting;
    this.connecting = undefined;
    if (pending) await (await pending.catch(() => null))?.connection.close();
  }
}
