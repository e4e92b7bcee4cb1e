// `npm run dev`: the whole system on its embedded defaults in one command. Installs what is
// missing, starts PostgreSQL (embedded unless DATABASE_URL) and the Temporal dev server (unless
// TEMPORAL_ADDRESS), migrates, then runs the API and a worker as child processes. Ctrl-C stops all.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { loadConfig } from '../config';
import { createKnex, ensureDatabaseExists, migrateLatest, resolveDatabase } from '../db';
import { createLogger } from '../logger';
import { stopProcess } from '../processes';
import { onShutdown } from '../shutdown';
import { startTemporalDevServer } from '../temporal/devServer';
import { ensureStudioBuilt } from '../studio/build';

export interface DevStack {
  apiUrl: string;
  temporalUiUrl: string;
  databaseUrl: string;
  temporalAddress: string;
  stop(): Promise<void>;
}

function runChild(name: string, script: string, env: NodeJS.ProcessEnv, root: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/bin', script)], {
    cwd: root,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('exit', (code) => {
    if (code !== null && ![0, 130, 143].includes(code)) console.error(`[dev] ${name} exited with code ${code}`);
  });
  return child;
}

async function waitForReady(url: string, timeoutMs: number, children: ChildProcess[]) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const dead = children.find((c) => c.exitCode !== null);
    if (dead) throw new Error('a child process exited during start-up');
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
      last = await res.text();
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`API not ready after ${timeoutMs} ms: ${last}`);
}

export async function startDevStack(opts: { quiet?: boolean } = {}): Promise<DevStack> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'dev');
  const say = (m: string) => opts.quiet || console.log(`[dev] ${m}`);

  const toolchain = spawnSync('bash', [path.join(config.root, 'scripts/toolchain.sh'), '--quiet'], { stdio: 'inherit' });
  if (toolchain.status !== 0) throw new Error('toolchain installation failed (see above)');

  // The web studio the API serves at /studio/ (a no-op when web/dist is up to date).
  await ensureStudioBuilt(config.root, { log: say }).catch((err: unknown) =>
    say(`the studio could not be built (${err instanceof Error ? err.message : err}); run npm run build:web`),
  );

  const { url: databaseUrl, embedded } = await resolveDatabase(config, logger);
  say(embedded ? `PostgreSQL (embedded) on ${new URL(databaseUrl).host}` : 'PostgreSQL from DATABASE_URL');
  await ensureDatabaseExists(databaseUrl);
  const knex = createKnex(databaseUrl, 2);
  const applied = await migrateLatest(knex);
  await knex.destroy();
  if (applied.length) say(`migrated: ${applied.join(', ')}`);

  const temporal = config.embeddedTemporal
    ? await startTemporalDevServer({
        toolsDir: config.TOOLS_DIR,
        dataDir: config.DATA_DIR,
        port: config.TEMPORAL_DEV_PORT,
        uiPort: config.TEMPORAL_UI_PORT,
        namespace: config.TEMPORAL_NAMESPACE,
        logger,
      })
    : null;
  const temporalAddress = temporal?.address ?? config.temporalAddress;
  const temporalUiUrl = temporal?.uiUrl ?? config.temporalUiUrl;

  const env = { ...process.env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_UI_URL: temporalUiUrl };
  const children = [runChild('api', 'api.ts', env, config.root), runChild('worker', 'worker.ts', env, config.root)];
  const apiUrl = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${config.PORT}`;

  const stop = async () => {
    await Promise.all(children.map((child) => stopProcess(child, 15_000)));
    await temporal?.stop();
    if (embedded?.owned) await embedded.stop();
  };
  try {
    await waitForReady(apiUrl, 90_000, children);
  } catch (err) {
    await stop();
    throw err;
  }
  return { apiUrl, temporalUiUrl, databaseUrl, temporalAddress, stop };
}

if (require.main === module) {
  const started = Date.now();
  startDevStack()
    .then((stack) => {
      console.log(`
AIMake is running (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)
  Studio       ${stack.apiUrl}/studio/
  API          ${stack.apiUrl}
  API docs     ${stack.apiUrl}/openapi.json
  Temporal UI  ${stack.temporalUiUrl}
Press Ctrl-C to stop.`);
      onShutdown(async () => {
        console.log('\n[dev] stopping…');
        await stack.stop();
      });
    })
    .catch((err) => {
      console.error(`[dev] ${err instanceof Error ? err.message : err}`);
      process.exit(1);
    });
}
