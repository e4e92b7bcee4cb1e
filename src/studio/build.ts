// The web studio (web/) is built by Vite into web/dist, which the API serves at /studio/.
// `npm run dev`, `npm run demo` and the browser test build it here when it is missing or older
// than its sources, so a fresh checkout's first command shows the studio.
import fs from 'node:fs';
import path from 'node:path';

const sourcesOf = (root: string) => [path.join(root, 'web/src'), path.join(root, 'web/index.html'), path.join(root, 'web/vite.config.mts')];

/** The newest modification time among the studio's sources. */
function newestSource(root: string): number {
  let newest = 0;
  const visit = (p: string) => {
    const stat = fs.statSync(p);
    if (stat.isDirectory()) for (const name of fs.readdirSync(p)) visit(path.join(p, name));
    else newest = Math.max(newest, stat.mtimeMs);
  };
  for (const p of sourcesOf(root)) visit(p);
  return newest;
}

/** True when `outDir` holds a build at least as new as every source file. */
export function studioIsBuilt(root: string, outDir = path.join(root, 'web/dist')): boolean {
  const index = path.join(outDir, 'index.html');
  return fs.existsSync(index) && fs.statSync(index).mtimeMs >= newestSource(root);
}

/** Builds the studio into `outDir` (web/dist by default) unless it is already up to date. */
export async function ensureStudioBuilt(root: string, opts: { outDir?: string; log?: (line: string) => void } = {}): Promise<void> {
  const outDir = opts.outDir ?? path.join(root, 'web/dist');
  if (studioIsBuilt(root, outDir)) return;
  const started = Date.now();
  // Vite is ESM only and a dev dependency: loaded only when a build is needed.
  const { build } = await import('vite');
  await build({ configFile: path.join(root, 'web/vite.config.mts'), logLevel: 'error', build: { outDir, emptyOutDir: true } });
  const log = opts.log ?? ((line: string) => console.log(`[studio] ${line}`));
  log(`built the studio into ${path.relative(root, outDir) || outDir} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
