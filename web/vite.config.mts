// Vite builds the studio into web/dist, which the API serves under /studio/ with a strict CSP:
// no inline scripts or styles, so the module preload polyfill (an inline script) is off.
import path from 'node:path';
import { defineConfig } from 'vite';

const root = import.meta.dirname;

export default defineConfig({
  root,
  base: '/studio/',
  logLevel: 'warn',
  // Vite 8 compiles JSX with oxc; Preact's automatic runtime, no preset needed.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: path.join(root, 'dist'),
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2022',
  },
  // `vite --config web/vite.config.ts` during development: the API answers /v1 on its own port.
  server: { proxy: { '/v1': process.env.AIMAKE_API_URL ?? 'http://127.0.0.1:3000' } },
});
