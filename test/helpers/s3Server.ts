import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * A real S3-compatible server (moto in server mode) on 127.0.0.1 for tests. moto lives in
 * .tools/python, installed with:
 *   python3 -m pip install --quiet --root-user-action=ignore --target .tools/python 'moto[server]==5.2.5'
 */
const REPO_ROOT = path.resolve(__dirname, '../..');
const PY_TARGET = path.join(REPO_ROOT, '.tools', 'python');
const START_TIMEOUT_MS = 30_000;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

// A moto-only path, so some other server that grabbed the port does not pass for moto.
async function answers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(endpoint + '/moto-api/data.json', { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

async function startOnce(port: number): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const python = process.env.PYTHON ?? 'python3';
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PYTHONPATH: [PY_TARGET, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
      PYTHONDONTWRITEBYTECODE: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  // Keep draining the pipes (a full pipe would block the server) and keep a tail for errors.
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);

  let exited = false;
  let spawnError: Error | undefined;
  child.once('exit', () => (exited = true));
  child.once('error', (err) => {
    spawnError = err;
    exited = true;
  });
  // mocha --exit can skip `after` hooks on a crash; never leave the server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (exited) return;
    child.kill('SIGTERM');
    if (!(await waitExit(child, 5000))) {
      child.kill('SIGKILL');
      await waitExit(child, 5000);
    }
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (exited || !(await answers(endpoint))) {
    if (exited || Date.now() > deadline) {
      await stop();
      const why = spawnError ? String(spawnError) : exited ? `exited with ${child.exitCode ?? child.signalCode}` : 'did not answer in time';
      throw new Error(`moto server on ${endpoint} ${why}\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { endpoint, stop };
}

export async function startS3Server(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  if (!existsSync(path.join(PY_TARGET, 'moto'))) {
    throw new Error(
      `moto is not installed in ${PY_TARGET}; run: python3 -m pip install --quiet --root-user-action=ignore ` + `--target ${PY_TARGET} 'moto[server]==5.2.5'`,
    );
  }
  // The port is picked before moto binds it, so another process may grab it; try a few.
  let lastErr: unknown;
  for (let i = 0; i < 3; i++) {
    try {
      return await startOnce(await freePort());
    } catch (err) {
      lastErr = err;
    }
  }
  throw lastErr;
}
