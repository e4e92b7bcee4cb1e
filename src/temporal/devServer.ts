import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Logger } from '../logger';
import { portOpen, stopProcess } from '../processes';
import { searchAttributeFlags } from './searchAttributes';

/**
 * The Temporal CLI's dev server, used when TEMPORAL_ADDRESS is not set: state persisted to a
 * SQLite file under DATA_DIR so runs survive restarts, Web UI on TEMPORAL_UI_PORT, our search
 * attributes registered at start. If something already listens on the port, it is reused.
 */
export interface DevServer {
  address: string;
  uiUrl: string;
  owned: boolean;
  stop(): Promise<void>;
}

export function temporalCliPath(toolsDir: string): string {
  return path.join(toolsDir, 'bin', 'temporal');
}

async function waitUntilServing(address: string, namespace: string, deadline: number, child?: ChildProcess) {
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`temporal dev server exited with code ${child.exitCode}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: '1s' });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`Temporal dev server did not become ready at ${address}: ${String(lastError)}`);
}

export async function startTemporalDevServer(opts: {
  toolsDir: string;
  dataDir: string;
  port: number;
  uiPort: number;
  namespace: string;
  logger?: Logger;
  timeoutMs?: number;
}): Promise<DevServer> {
  const address = `127.0.0.1:${opts.port}`;
  const uiUrl = `http://127.0.0.1:${opts.uiPort}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  if (await portOpen(opts.port)) {
    await waitUntilServing(address, opts.namespace, deadline);
    return { address, uiUrl, owned: false, stop: async () => {} };
  }

  const cli = temporalCliPath(opts.toolsDir);
  if (!fs.existsSync(cli)) throw new Error(`Temporal CLI not found at ${cli}: run \`npm run toolchain\``);
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--ui-port',
    String(opts.uiPort),
    '--db-filename',
    path.join(opts.dataDir, 'temporal.sqlite'),
    '--log-level',
    'warn',
    '--ui-disable-news-fetch',
    ...(opts.namespace !== 'default' ? ['--namespace', opts.namespace] : []),
    ...Object.entries(searchAttributeFlags).flatMap(([k, t]) => ['--search-attribute', `${k}=${t}`]),
  ];
  const logFile = fs.openSync(path.join(opts.dataDir, 'temporal.log'), 'a');
  const child = spawn(cli, args, { stdio: ['ignore', logFile, logFile] });
  fs.closeSync(logFile);
  opts.logger?.info({ temporalPid: child.pid, address, uiUrl }, 'started Temporal dev server');
  try {
    await waitUntilServing(address, opts.namespace, deadline, child);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    address,
    uiUrl,
    owned: true,
    stop: () => stopProcess(child, 10_000),
  };
}
