import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_CSP, graphqlWsClientFiles } from '../../src/server/dashboard/route.js';
import { createTestApp, type TestApp } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';

/*
 * The dashboard's files over plain HTTP: the right content types and headers, a strict CSP,
 * revalidation with ETags, and nothing served that is not on the list, however the path is
 * spelled.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

/** A GET with the path sent exactly as written (fetch would normalise "/../"). */
function rawGet(url: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the dashboard route', () => {
  let t: TestApp;
  let url: string;
  beforeAll(async () => {
    t = await createTestApp(sqlite);
    ({ url } = await t.app.start({ port: 0 }));
  });
  afterAll(() => t?.dispose());

  it('serves the page at / with a strict CSP and security headers', async () => {
    const response = await fetch(`${url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toMatch(/default-src 'none'/);
    expect(DASHBOARD_CSP).toMatch(/script-src 'self'(;|$)/);
    expect(DASHBOARD_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const html = await response.text();
    expect(html).toContain('<script type="module" src="/js/main.js"></script>');
    // No inline script or style: the CSP would refuse them.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|<style/);
    // GraphiQL is still where it was.
    const graphiql = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await graphiql.text()).toMatch(/graphiql/i);
  });

  it('serves scripts, styles and images with their content types', async () => {
    const types: Record<string, string> = {
      '/js/main.js': 'text/javascript; charset=utf-8',
      '/js/views/deployment.js': 'text/javascript; charset=utf-8',
      '/style.css': 'text/css; charset=utf-8',
      '/favicon.svg': 'image/svg+xml',
      '/vendor/graphql-ws/client.js': 'text/javascript; charset=utf-8',
    };
    for (const [path, type] of Object.entries(types)) {
      const response = await fetch(`${url}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toBe(type);
      expect(response.headers.get('content-security-policy'), path).toBe(DASHBOARD_CSP);
      expect(Number(response.headers.get('content-length')), path).toBe((await response.arrayBuffer()).byteLength);
    }
  });

  it('serves graphql-ws\'s browser client and every chunk it imports', async () => {
    const client = await (await fetch(`${url}/vendor/graphql-ws/client.js`)).text();
    expect(client).toContain('function createClient');
    const imports = [...client.matchAll(/from\s*'\.\/([\w.-]+\.js)'/g)].map((m) => m[1]!);
    expect(imports.length).toBeGreaterThan(0);
    for (const name of imports) expect((await fetch(`${url}/vendor/graphql-ws/${name}`)).status, name).toBe(200);
    expect(graphqlWsClientFiles().map(([name]) => name).sort()).toEqual(['client.js', ...new Set(imports)].sort());
  });

  it('answers 304 to a request with the current ETag, and HEAD without a body', async () => {
    const first = await fetch(`${url}/style.css`);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await rawGet(url, '/style.css', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    const changed = await rawGet(url, '/style.css', { 'if-none-match': '"something-else"' });
    expect(changed.status).toBe(200);
    const head = await fetch(`${url}/js/main.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await fetch(`${url}/`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers 404 for unknown paths and every traversal attempt', async () => {
    const paths = [
      '/nope',
      '/index.htm',
      '/js/',
      '/js/missing.js',
      '/route.ts', // the route module sits beside public/: not served
      '/public/index.html',
      '/../package.json',
      '/js/../../route.ts',
      '/%2e%2e/package.json',
      '/%2e%2e%2f%2e%2e%2fpackage.json',
      '/js/..%2f..%2froute.ts',
      '/vendor/graphql-ws/../../../package.json',
      '/vendor/graphql-ws/index.js', // in graphql-ws's dist/, but not the browser client
      '/vendor/graphql-ws/',
      '/vendor/graphql-ws/%2e%2e/package.json',
      '//etc/passwd',
      '/style.css/',
      '/favicon.ico',
    ];
    for (const path of paths) {
      const response = await rawGet(url, path);
      expect(response.status, path).toBe(404);
      expect(response.body, path).not.toMatch(/"name":\s*"(fraisier|graphql-ws)"|createDashboardRoute|root:/);
    }
  });
});
