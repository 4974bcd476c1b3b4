import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';

/*
 * GraphiQL from the installed @graphql-yoga/render-graphiql, never from a CDN: yoga's own page
 * loads its scripts from unpkg.com and stays blank on a machine without Internet. That package
 * holds the whole bundle as strings (script, styles, three Monaco workers, favicon: about 9 MB);
 * its own page inlines all of them into every answer. Here each one is a file of its own under
 * /graphql/assets/, named by its content hash so a browser keeps it for good, and the page only
 * links them. The bundle is read on the first GraphiQL request, not at start: most servers never
 * show GraphiQL. The page holds no script of its own (its options are a JSON data block read by
 * start.js), so its Content-Security-Policy allows scripts from this server only, and nothing
 * else may be fetched from elsewhere either.
 */

/**
 * GraphiQL's page: scripts, workers and styles from this server; Monaco adds style elements and
 * data: fonts; queries and subscriptions go to this server only.
 */
export const GRAPHIQL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Reads the page's data blocks, sets where Monaco's workers are, and starts GraphiQL once the
 * bundle (the next script of the page) has run. Served as a file: the page has no inline script.
 */
const START_SCRIPT = `(() => {
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  const workers = read('graphiql-workers');
  self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_moduleId, label) => workers[label] };
  document.addEventListener('DOMContentLoaded', () => YogaGraphiQL.renderYogaGraphiQL(document.querySelector('#root'), read('graphiql-options')));
})();
`;

/** Where the assets are served: under /graphql, the one prefix the HTTP server hands to yoga. */
export const GRAPHIQL_ASSETS_PATH = '/graphql/assets/';

interface Asset {
  type: string;
  body: Buffer;
  /** Made on first request that accepts gzip (the script shrinks from 5 MB to about 1.5 MB). */
  gzipped?: Buffer;
}

interface Bundle {
  assets: Map<string, Asset>;
  /** URL (absolute path) of each part the page links. */
  urls: { start: string; js: string; css: string; favicon: string; workers: Record<string, string> };
}

/** GraphiQL's page (yoga's `renderGraphiQL`) and the plugin that serves the files it links. */
export interface GraphiQL {
  render(options: GraphiQLOptions): Promise<string>;
  plugin: Plugin;
}

export function createGraphiQL(): GraphiQL {
  let loading: Promise<Bundle> | undefined;
  const bundle = () => (loading ??= loadBundle());
  return {
    async render(options) {
      return renderPage(options, (await bundle()).urls);
    },
    plugin: {
      onRequest({ request, url, endResponse, fetchAPI }) {
        if (!url.pathname.startsWith(GRAPHIQL_ASSETS_PATH)) return undefined;
        return bundle().then((loaded) => endResponse(assetResponse(request, url, loaded.assets, fetchAPI.Response)));
      },
      onResponse({ response }) {
        // The only HTML yoga answers with is GraphiQL's page.
        if (response.headers.get('content-type')?.startsWith('text/html')) response.headers.set('content-security-policy', GRAPHIQL_CSP);
      },
    },
  };
}

async function loadBundle(): Promise<Bundle> {
  const parts = await import('@graphql-yoga/render-graphiql/graphiql');
  const assets = new Map<string, Asset>();
  const add = (stem: string, extension: string, type: string, body: Buffer): string => {
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
    const name = `${stem}.${hash}.${extension}`;
    assets.set(name, { type, body });
    return GRAPHIQL_ASSETS_PATH + name;
  };
  const script = (stem: string, text: string) => add(stem, 'js', 'text/javascript; charset=utf-8', Buffer.from(text));
  const favicon = /^data:([^;,]+);base64,(.*)$/s.exec(parts.favicon);
  return {
    assets,
    urls: {
      start: script('start', START_SCRIPT),
      js: script('graphiql', parts.js),
      css: add('graphiql', 'css', 'text/css; charset=utf-8', Buffer.from(parts.css)),
      favicon: favicon ? add('favicon', 'ico', favicon[1]!, Buffer.from(favicon[2]!, 'base64')) : parts.favicon,
      // Keyed by the labels Monaco asks MonacoEnvironment.getWorkerUrl for.
      workers: {
        editorWorkerService: script('editor.worker', parts.editorWorkerService),
        json: script('json.worker', parts.jsonWorker),
        graphql: script('graphql.worker', parts.graphqlWorker),
      },
    },
  };
}

function assetResponse(request: Request, url: URL, assets: Map<string, Asset>, Response: typeof globalThis.Response): Response {
  const name = url.pathname.slice(GRAPHIQL_ASSETS_PATH.length);
  const asset = assets.get(name);
  if (!asset) {
    return Response.json({ error: `no GraphiQL asset named "${name.slice(0, 100)}"` }, { status: 404, headers: { 'cache-control': 'no-store' } });
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return Response.json({ error: `GraphiQL assets answer GET and HEAD, not ${request.method}` }, { status: 405, headers: { allow: 'GET, HEAD' } });
  }
  const gzip = /\bgzip\b/.test(request.headers.get('accept-encoding') ?? '');
  const body = gzip ? (asset.gzipped ??= gzipSync(asset.body)) : asset.body;
  const headers: Record<string, string> = {
    'content-type': asset.type,
    'content-length': String(body.length),
    // The name changes with the content.
    'cache-control': 'public, max-age=31536000, immutable',
    vary: 'accept-encoding',
    'x-content-type-options': 'nosniff',
  };
  if (gzip) headers['content-encoding'] = 'gzip';
  return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers });
}

/** Safe inside a <script> data block: no `</script>` or `<!--` can close or confuse it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function renderPage(options: GraphiQLOptions, urls: Bundle['urls']): string {
  const title = typeof options.title === 'string' ? options.title : 'GraphiQL';
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(title)}</title>
    <link rel="icon" href="${escapeHtml(urls.favicon)}" />
    <link rel="stylesheet" href="${escapeHtml(urls.css)}" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run this app.</noscript>
    <div id="root"></div>
    <script type="application/json" id="graphiql-options">${scriptJson(options)}</script>
    <script type="application/json" id="graphiql-workers">${scriptJson(urls.workers)}</script>
    <script src="${escapeHtml(urls.start)}"></script>
    <script src="${escapeHtml(urls.js)}"></script>
  </body>
</html>
`;
}
