import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { sourceFile } from '../../package-files.js';
import { type Route, sendJson } from '../http-server.js';

/*
 * GET / and the dashboard's files. Plain ES modules, HTML and CSS: no build step, no CDN, so it
 * works offline. Only the files listed here are served (read once, at start), so no request path
 * ever reaches the file system: there is nothing to traverse. graphql-ws's browser client comes
 * from node_modules, its entry file and the chunks it imports, found at start.
 */

/** The page talks to this server only: scripts, styles, images, fetch and WebSocket. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The dashboard's own files, relative to public/. */
const PUBLIC_FILES = [
  'index.html',
  'style.css',
  'favicon.svg',
  'js/main.js',
  'js/api.js',
  'js/live.js',
  'js/dom.js',
  'js/format.js',
  'js/access.js',
  'js/views/overview.js',
  'js/views/deployments.js',
  'js/views/deployment.js',
  'js/views/webhooks.js',
  'js/views/latest.js',
  'js/views/actions.js',
  'js/views/approvals.js',
];

/** Where the page imports graphql-ws's client from. */
const VENDOR_PREFIX = '/vendor/graphql-ws/';

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** The dashboard's files, from ./public beside this module's source. */
export function createDashboardRoute(): Route {
  const publicDir = sourceFile('src/server/dashboard/public');
  const assets = new Map<string, Asset>();
  for (const file of PUBLIC_FILES) assets.set(`/${file}`, load(join(publicDir, file)));
  assets.set('/', assets.get('/index.html')!);
  for (const [name, path] of graphqlWsClientFiles()) assets.set(`${VENDOR_PREFIX}${name}`, load(path));

  return (request, response, url) => {
    const asset = assets.get(url.pathname);
    if (!asset) return sendJson(response, 404, { error: 'not found' }, SECURITY_HEADERS);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return sendJson(response, 405, { error: 'method not allowed' }, { ...SECURITY_HEADERS, allow: 'GET, HEAD' });
    }
    const headers = {
      ...SECURITY_HEADERS,
      'content-type': asset.type,
      // No hashed file names: the browser keeps a copy but asks (ETag) before using it.
      'cache-control': 'no-cache',
      etag: asset.etag,
    };
    if (matchesEtag(request.headers['if-none-match'], asset.etag)) {
      response.writeHead(304, headers);
      return void response.end();
    }
    response.writeHead(200, { ...headers, 'content-length': asset.body.length });
    response.end(request.method === 'HEAD' ? undefined : asset.body);
  };
}

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

function load(path: string): Asset {
  const type = TYPES[path.slice(path.lastIndexOf('.'))];
  if (!type) throw new Error(`dashboard: no content type for ${path}`);
  const body = readFileSync(path);
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed === etag || trimmed === `W/${etag}`;
  });
}

/**
 * graphql-ws's ES module client (dist/client.js) and the chunks it imports (`./common-<hash>.js`,
 * whose name changes with each release), as [served name, path]. Throws when the package's
 * layout is not the expected one, so an upgrade that breaks the dashboard fails at start.
 */
export function graphqlWsClientFiles(): Array<[string, string]> {
  const require = createRequire(import.meta.url);
  // The package's CommonJS entry sits in dist/, beside the ES module client.
  const dist = dirname(require.resolve('graphql-ws'));
  const files: Array<[string, string]> = [];
  const pending = ['client.js'];
  while (pending.length) {
    const name = pending.pop()!;
    if (files.some(([seen]) => seen === name)) continue;
    const path = join(dist, name);
    if (!existsSync(path)) throw new Error(`dashboard: graphql-ws has no ${path} (its browser client moved?)`);
    files.push([name, path]);
    const source = readFileSync(path, 'utf8');
    // Static import/export statements start a line; a string that mentions `import x from 'y'` does not.
    for (const match of source.matchAll(/^[ \t]*(?:import|export)\b[^;'"`]*?['"]([^'"]+)['"]/gm)) {
      const specifier = match[1]!;
      if (!/^\.\/[\w.-]+\.js$/.test(specifier)) {
        throw new Error(`dashboard: graphql-ws's client imports "${specifier}", which the dashboard cannot serve`);
      }
      pending.push(specifier.slice(2));
    }
  }
  return files;
}
