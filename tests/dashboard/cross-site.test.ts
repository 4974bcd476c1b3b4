import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASIC_CONFIG, createTestApp, type TestApp, testConfig } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';
import { countRows } from '../webhooks/support.js';
import { type Browser, chromiumUnavailable, openBrowser } from './browser.js';

/*
 * What a web page the operator happens to open can do to an open Fraisier on 127.0.0.1, in a
 * real Chromium: a page on another origin (a second HTTP server) tries a JSON deploy, a no-cors
 * POST and a graphql-ws deploy; a DNS-rebinding page (evil.example resolving to 127.0.0.1, on
 * Fraisier's own port) tries the same as "same origin". Nothing may be queued. A page on a
 * listed origin and the dashboard itself (at 127.0.0.1 and localhost) keep working.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const skip = chromiumUnavailable();
const SOON = { timeout: 10_000, interval: 50 };

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
/** Would queue a real deployment of my_api/staging. */
const DEPLOY = `mutation { deploy(fraise: "my_api", environment: "staging", commit: "${COMMIT}") { success deployment { id } } }`;
// Answered, not refused: the dry run itself fails (no Coolify answers at its endpoint), which is not what these tests are about.
const DRY_RUN = 'mutation { deploy(fraise: "my_api", environment: "staging", dryRun: true) { dryRun } }';

/** Serves one blank page at every path: the other origin's site. */
async function startOtherSite(): Promise<{ server: Server; port: number }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><title>somewhere else</title><p>an ordinary page</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** In the page: a JSON POST to `endpoint`; its status and body, or why the browser would not let the page see it. */
function postFromPage(page: Page, endpoint: string, query: string): Promise<{ status?: number; body?: unknown; blocked?: string }> {
  return page.evaluate(
    async ({ endpoint, query }) => {
      try {
        const response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
        return { status: response.status, body: await response.json() };
      } catch (error) {
        return { blocked: String(error) };
      }
    },
    { endpoint, query },
  );
}

/** In the page: a graphql-ws operation; its first answer, or how the socket ended before one. */
function wsFromPage(page: Page, endpoint: string, query: string): Promise<{ opened: boolean; result?: unknown; closed?: number }> {
  return page.evaluate(
    ({ endpoint, query }) =>
      new Promise<{ opened: boolean; result?: unknown; closed?: number }>((resolve) => {
        let opened = false;
        const socket = new WebSocket(endpoint, 'graphql-transport-ws');
        socket.onopen = () => {
          opened = true;
          socket.send(JSON.stringify({ type: 'connection_init' }));
        };
        socket.onmessage = (event) => {
          const message = JSON.parse(String(event.data));
          if (message.type === 'connection_ack') socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
          else if (message.type === 'next' || message.type === 'error') {
            resolve({ opened, result: message.payload });
            socket.close();
          }
        };
        socket.onclose = (event) => resolve({ opened, closed: event.code });
      }),
    { endpoint, query },
  );
}

describe.skipIf(skip)('a web page against an open Fraisier', () => {
  let other: { server: Server; port: number };
  let t: TestApp;
  let port: number;
  let browser: Browser;
  const queued = async () => (await countRows(t.app, 'tb_deployment')) + (await countRows(t.app, 'tb_deployment_request'));

  beforeAll(async () => {
    other = await startOtherSite();
    // The other site is listed by one of its names (localhost) and foreign by the other (127.0.0.1).
    const yaml = `fraisier:\n  allowed_origins: ["http://localhost:${other.port}"]\n${BASIC_CONFIG}`;
    t = await createTestApp(sqlite, { config: testConfig(yaml), scheduler: false });
    ({ port } = await t.app.start({ port: 0 }));
    browser = await openBrowser(undefined, { args: ['--host-resolver-rules=MAP evil.example 127.0.0.1'] });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.dispose();
    await new Promise((resolve) => other?.server.close(resolve));
  });

  it('on another origin cannot deploy, by fetch or WebSocket; on a listed origin it can', async () => {
    const page = await browser.context.newPage();
    try {
      await page.goto(`http://127.0.0.1:${other.port}/`);
      const fraisier = `http://127.0.0.1:${port}/graphql`;
      const json = await postFromPage(page, fraisier, DEPLOY);
      expect(json.blocked, JSON.stringify(json)).toMatch(/Failed to fetch/);
      // A simple request, sent without preflight, whose answer the page cannot read.
      await page.evaluate(
        ({ endpoint, query }) => fetch(endpoint, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query }) }),
        { endpoint: fraisier, query: DEPLOY },
      );
      const ws = await wsFromPage(page, `ws://127.0.0.1:${port}/graphql`, DEPLOY);
      expect(ws).toEqual({ opened: false, closed: 1006 });
      expect(await queued()).toBe(0);

      await page.goto(`http://localhost:${other.port}/`);
      expect(await postFromPage(page, fraisier, DRY_RUN)).toEqual({ status: 200, body: { data: { deploy: { dryRun: true } } } });
      expect(await wsFromPage(page, `ws://127.0.0.1:${port}/graphql`, '{ fraises { name } }')).toEqual({
        opened: true,
        result: { data: { fraises: [{ name: 'my_api' }, { name: 'my_worker' }] } },
      });
      expect(await queued()).toBe(0);
    } finally {
      await page.close();
    }
  });

  it('rebound onto 127.0.0.1 under its own name reads and deploys nothing; the dashboard at 127.0.0.1 and localhost works', async () => {
    const page = await browser.context.newPage();
    try {
      // evil.example now resolves to 127.0.0.1: to the browser, Fraisier is evil.example's own
      // origin. (Recent Chromium also asks the user before a page it fetched from a public
      // address reaches a local one; other browsers do not, so the page here is loaded from
      // 127.0.0.1 under the rebound name, and only the server's Host check stands in the way.)
      const evil = `http://evil.example:${port}`;
      const document = await page.goto(`${evil}/`);
      expect(document?.status()).toBe(421);
      expect(await page.locator('body').innerText()).toContain('MISDIRECTED_REQUEST');
      const json = await postFromPage(page, `${evil}/graphql`, DEPLOY);
      expect(json.status, JSON.stringify(json)).toBe(421);
      expect(JSON.stringify(json.body)).toContain('this server does not answer to the host \\"evil.example\\"');
      const read = await postFromPage(page, `${evil}/graphql`, '{ fraises { name } }');
      expect(read.status).toBe(421);
      expect(JSON.stringify(read.body)).not.toContain('my_api');
      expect(await wsFromPage(page, `ws://evil.example:${port}/graphql`, DEPLOY)).toEqual({ opened: false, closed: 1006 });
      expect(await queued()).toBe(0);

      for (const name of ['127.0.0.1', 'localhost']) {
        await page.goto(`http://${name}:${port}/`);
        await expect.poll(() => page.locator('#connection').innerText({ timeout: 1_000 }), SOON).toBe('Live');
        const grid = page.getByRole('region', { name: 'Environments' }).getByRole('table');
        await expect.poll(() => grid.getByRole('rowheader').allInnerTexts(), SOON).toEqual(['my_api api\nMy API', 'my_worker worker']);
        expect(await postFromPage(page, '/graphql', DRY_RUN), name).toEqual({ status: 200, body: { data: { deploy: { dryRun: true } } } });
      }
      expect(await queued()).toBe(0);
    } finally {
      await page.close();
    }
  });
});
