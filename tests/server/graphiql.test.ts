import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, chromiumUnavailable, openBrowser } from '../dashboard/browser.js';
import { createTestApp, type TestApp } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;

/** Every URL the page names: src=, href=, import '…', import(…), url(…). */
function referencedUrls(html: string): string[] {
  const patterns = [
    // Quoted or not (yoga's own page leaves them bare).
    /\b(?:src|href)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/gi,
    /\bimport\s*(?:[^'"();]*?\bfrom\s*)?["']([^"']+)["']/g,
    /\bimport\s*\(\s*["'`]([^"'`]+)["'`]/g,
    /\burl\(\s*["']?([^"')]+)["']?\s*\)/gi,
  ];
  return patterns.flatMap((pattern) => [...html.matchAll(pattern)].map((match) => match.slice(1).find((group) => group !== undefined)!));
}

describe('GraphiQL at /graphql', () => {
  let t: TestApp;
  let url: string;
  beforeAll(async () => {
    t = await createTestApp(sqlite);
    ({ url } = await t.app.start({ port: 0 }));
  });
  afterAll(() => t.dispose());

  it('names only URLs on this server, and each of them answers', async () => {
    const page = await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    // The browser itself holds the page to this server: no inline code, scripts from here only.
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'.*script-src 'self';.*connect-src 'self'/);
    for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag).toMatch(/\bsrc="|type="application\/json"/);
    // The workers are named in a JSON data block, not in src= attributes.
    const workerMap = /<script type="application\/json" id="graphiql-workers">([^<]*)<\/script>/.exec(html);
    const workers = workerMap ? Object.values(JSON.parse(workerMap[1]!) as Record<string, string>) : [];
    const urls = [...referencedUrls(html), ...workers];
    const server = new URL(url);
    for (const reference of urls) {
      const resolved = new URL(reference, `${url}/graphql`);
      expect(resolved.host, `${reference} is on another host`).toBe(server.host);
      const asset = await fetch(resolved);
      expect(asset.status, `${reference} answered ${asset.status}`).toBe(200);
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
    expect(urls.length).toBeGreaterThanOrEqual(6);
    expect(workers).toHaveLength(3);
    // The page is small: the bundle is linked, not inlined.
    expect(html.length).toBeLessThan(10_000);
  });

  it('serves the script compressed to who accepts gzip, and names unknown assets in a 404', async () => {
    const html = await (await fetch(`${url}/graphql`, { headers: { accept: 'text/html' } })).text();
    const script = /<script src="([^"]*graphiql[^"]*)"/.exec(html)![1]!;
    // fetch() decompresses: compare the decoded bytes with the plain answer.
    const plain = await fetch(`${url}${script}`, { headers: { 'accept-encoding': 'identity' } });
    const zipped = await fetch(`${url}${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(zipped.headers.get('cache-control')).toContain('immutable');
    expect(await zipped.text()).toBe(await plain.text());
    const missing = await fetch(`${url}/graphql/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).error).toContain('nope.js');
  });

  describe.skipIf(chromiumUnavailable())('in a browser that can reach no other host', () => {
    let browser: Browser;
    const foreign: string[] = [];
    beforeAll(async () => {
      browser = await openBrowser();
      const host = new URL(url).host;
      await browser.context.route('**/*', (route) => {
        const requested = new URL(route.request().url());
        if (requested.protocol === 'data:' || requested.protocol === 'blob:' || requested.host === host) return route.continue();
        foreign.push(requested.href);
        return route.abort('internetdisconnected');
      });
    }, 60_000);
    afterAll(() => browser?.close());

    it('renders the editor and runs a query', async () => {
      const { page, problems } = browser;
      await page.goto(`${url}/graphql?query=${encodeURIComponent('{ fraises { name } }')}`);
      await page.locator('.graphiql-container .monaco-editor').first().waitFor({ state: 'visible', timeout: 60_000 });
      await page.locator('.graphiql-execute-button').click();
      await expect.poll(() => page.locator('.graphiql-response').innerText(), { timeout: 30_000 }).toContain('my_worker');
      // Monaco's workers (from /graphql/assets/, allowed by worker-src 'self') are running.
      await expect.poll(() => page.workers().map((worker) => new URL(worker.url()).pathname), { timeout: 30_000 }).toEqual(
        expect.arrayContaining([expect.stringMatching(/^\/graphql\/assets\/graphql\.worker\.[0-9a-f]+\.js$/)]),
      );
      await browser.screenshot('graphiql-offline');
      expect(foreign).toEqual([]);
      expect(problems).toEqual([]);
    }, 120_000);
  });
});
