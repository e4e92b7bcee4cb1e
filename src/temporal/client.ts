import { Client, Connection } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import type { Logger } from '../logger';
import { ensureSearchAttributes } from './searchAttributes';

/**
 * The API's handle on Temporal. It connects on first use and again after a failure, so the API
 * starts (and reports not-ready) while Temporal is still coming up instead of refusing to start.
 */
export class TemporalGateway {
  private connecting?: Promise<Client>;
  private preparing?: Promise<void>;

  constructor(
    readonly address: string,
    readonly namespace: string,
    readonly taskQueue: string,
    private readonly logger?: Logger,
    /** Carries the caller's trace into the runs it starts, signals and queries (src/tracing.ts). */
    private readonly traced = false,
  ) {}

  async client(): Promise<Client> {
    this.connecting ??= Connection.connect({ address: this.address, connectTimeout: '3s' })
      .then(
        (connection) =>
          new Client({
            connection,
            namespace: this.namespace,
            ...(this.traced ? { interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } } : {}),
          }),
      )
      .catch((err) => {
        this.connecting = undefined;
        throw err;
      });
    const client = await this.connecting;
    await this.prepare(client);
    return client;
  }

  /**
   * Runs start with our search attributes, so the API may meet a namespace before any worker has:
   * it registers them once per process, and again on the next use if that failed.
   */
  private prepare(client: Client): Promise<void> {
    this.preparing ??= ensureSearchAttributes(client.connection.operatorService, this.namespace).then(
      (added) => {
        if (added.length) this.logger?.info({ added, namespace: this.namespace }, 'registered search attributes');
      },
      (err) => {
        this.preparing = undefined;
        throw err;
      },
    );
    return this.preparing;
  }

  /** Resolves when the frontend answers, the namespace exists and runs can be started in it. */
  async check(timeoutMs = 2000): Promise<void> {
    const client = await this.client();
    await client.connection.withDeadline(Date.now() + timeoutMs, () => client.workflowService.describeNamespace({ namespace: this.namespace }));
  }

  async close(): Promise<void> {
    const pending = this.connecting;
    this.connecting = undefined;
    this.preparing = undefined;
    if (pending) await (await pending.catch(() => null))?.connection.close();
  }
}
