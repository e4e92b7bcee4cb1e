import fs from 'node:fs';
import path from 'node:path';
import type Router from '@koa/router';

/**
 * GET /docs: the API reference, rendered from /openapi.json by Scalar's standalone bundle, which
 * we serve ourselves (no CDN). The page runs no inline script and loads nothing from elsewhere:
 * default fonts, the request proxy and telemetry are off, and the CSP says so.
 */
const SCALAR_BUNDLE = path.join(path.dirname(require.resolve('@scalar/api-reference')), 'browser', 'standalone.js');
export const DOCS_SCRIPT_PATH = '/docs/scalar.js';

const CONFIGURATION = JSON.stringify({ withDefaultFonts: false, telemetry: false, hideClientButton: false, proxyUrl: '' });

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>AIMake API reference</title>
  </head>
  <body>
    <script id="api-reference" data-url="/openapi.json" data-configuration='${CONFIGURATION}'></script>
    <script src="${DOCS_SCRIPT_PATH}"></script>
  </body>
</html>
`;

// Scripts only from here; the bundle injects its stylesheet and styles elements, hence inline styles.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function docsRoutes(router: Router) {
  router.get('/docs', (ctx) => {
    ctx.set('Content-Security-Policy', CSP);
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = PAGE;
  });
  router.get(DOCS_SCRIPT_PATH, (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.body = fs.createReadStream(SCALAR_BUNDLE);
  });
}
