import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { startTestServer } from '../setup/app.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { githubPush } from '../setup/github-push.js';
import { createServiceRepo, freePort, helloEnvironment, type ServiceRepo } from '../setup/service-repo.js';
import { type Browser, chromiumUnavailable, openBrowser } from './browser.js';

/*
 * The overview as an operator reads it, in a real browser against a real server deploying a
 * real service, among many fraises: the latest deployments first, a failed first attempt shown
 * (not "never deployed"), Roll back offered only once there is a version to go back to, a
 * webhook delivery that deploys nothing appearing without a reload, and the link of a health
 * notification (#/environments/<fraise>/<environment>) opening with that environment in view.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const skip = chromiumUnavailable();

const SECRET = 'overview-webhook-secret';
/** Enough fraises that the grid runs far below the first screen. */
const FILLERS = 30;
const VIEWPORT = { width: 1280, height: 900 };
/** Waits long enough for a deployment of the tiny service; never a timed assertion. */
const LONG = { timeout: 30_000, interval: 100 };
const SOON = { timeout: 10_000, interval: 50 };

function config(repo: ServiceRepo, port: number): string {
  const fillers = Array.from(
    { length: FILLERS },
    (_, i) => `  filler_${String(i).padStart(2, '0')}:
    type: worker
    environments:
      production:
        target: { provider: kubernetes, namespace: jobs }
`,
  ).join('');
  // hello's repository is not the one pushes come from: a push is recorded and deploys nothing.
  return `
fraisier:
  lease: { ttl: 5s, heartbeat: 1s }
  poll_interval: 1s
  drain_timeout: 2s
  webhook: { rate_limit: false }
git:
  provider: github
  github:
    webhook_secret: ${SECRET}
fraises:
  hello:
    type: api
    git: { repository: acme/elsewhere }
    environments:
${helloEnvironment(repo, port, { retries: 5 })}${fillers}`;
}

describe.skipIf(skip)('the overview in a browser', () => {
  let repo: ServiceRepo;
  let database: TestDatabase;
  let app: App | undefined;
  let url: string;
  let browser: Browser | undefined;
  let page: Page;

  beforeAll(async () => {
    repo = createServiceRepo();
    const servicePort = await freePort();
    database = await sqlite.createDatabase();
    ({ app, url } = await startTestServer(config(repo, servicePort), database.url));
    browser = await openBrowser(VIEWPORT);
    page = browser.page;
    await page.goto(`${url}/`);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await database?.drop();
    repo?.dispose();
  });

  /** The text shown, or a failure at once when it is not there (expect.poll asks again). */
  const text = (locator: Locator) => locator.innerText({ timeout: 1_000 });
  const cell = () => page.locator('.cell[data-fraise="hello"][data-environment="local"]');
  const rollbackButton = () => page.getByRole('button', { name: 'Roll back hello on local' });
  const latest = () => page.getByRole('region', { name: 'Latest deployments' });

  /** Queues a deployment of hello's head through the API and waits until it ended; its id and status. */
  async function deploy(): Promise<{ id: string; status: string }> {
    const graphql = async <T>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
      const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
      const body = (await response.json()) as { data?: T; errors?: unknown[] };
      expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
      return body.data!;
    };
    const { deploy: result } = await graphql<{ deploy: { success: boolean; message: string; deployment: { id: string } } }>(
      'mutation { deploy(fraise: "hello", environment: "local") { success message deployment { id } } }',
    );
    expect(result.success, result.message).toBe(true);
    const id = result.deployment.id;
    let status = '';
    await expect
      .poll(async () => {
        ({ status } = (await graphql<{ deployment: { status: string } }>('query ($id: ID!) { deployment(id: $id) { status } }', { id })).deployment);
        return ['PENDING', 'IN_PROGRESS'].includes(status);
      }, LONG)
      .toBe(false);
    return { id, status };
  }

  it('shows a webhook delivery that deploys nothing as soon as it is recorded, without a reload', async () => {
    await expect.poll(() => text(page.locator('#connection')), SOON).toBe('Live');
    const webhooks = page.getByRole('region', { name: 'Webhook deliveries' });
    await expect.poll(() => text(webhooks), SOON).toContain('No delivery received yet.');
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const response = await githubPush(url, SECRET, { sha: repo.commit('unrelated'), message: 'a push to a repository no fraise deploys' });
    expect(response.status).toBe(200);
    const row = webhooks.locator('tbody tr');
    await expect.poll(() => row.count(), SOON).toBe(1);
    expect(await text(row)).toContain('a push to a repository no fraise deploys');
    expect(await text(row.locator('.badge'))).toBe('ignored');
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
  });

  it('shows a failed first attempt, not "never deployed", and offers no rollback', { timeout: 60_000 }, async () => {
    repo.commit('broken', { healthy: false });
    const failed = await deploy();
    expect(failed.status).toBe('FAILED');
    await expect.poll(() => text(cell()), LONG).toMatch(/Last attempt\s+FAILED\s+just now\s+#\d+\s+health check failed/);
    const shown = await text(cell());
    expect(shown).not.toMatch(/Deployed|never/);
    expect(await cell().getByRole('link', { name: `#${failed.id}` }).getAttribute('href')).toBe(`#/deployments/${failed.id}`);
    expect(await rollbackButton().count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Deploy hello to local' }).isEnabled()).toBe(true);
    await browser!.screenshot('overview-01-failed-first-attempt', { fullPage: false });
  });

  it('offers Roll back only once a second successful version is running', { timeout: 90_000 }, async () => {
    const a = repo.commit('A');
    expect((await deploy()).status).toBe('SUCCESS');
    await expect.poll(() => text(cell().locator('.version')), LONG).toBe(a.slice(0, 12));
    // The attempt that succeeded is what runs: nothing more to say, and nothing to go back to.
    expect(await text(cell())).not.toContain('Last attempt');
    expect(await text(cell())).toMatch(/Deployed\s+just now/);
    expect(await rollbackButton().count()).toBe(0);

    const b = repo.commit('B');
    expect((await deploy()).status).toBe('SUCCESS');
    await expect.poll(() => text(cell().locator('.version')), LONG).toBe(b.slice(0, 12));
    await expect.poll(() => rollbackButton().count(), SOON).toBe(1);
    await rollbackButton().click();
    const choices = page.getByRole('dialog', { name: 'Roll back hello on local' }).getByRole('radio');
    await expect.poll(() => choices.count(), SOON).toBe(1);
    expect(await choices.first().getAttribute('value')).toBe(a);
    await page.keyboard.press('Escape');
  });

  it('puts the latest deployments on the first screen, however many fraises follow', async () => {
    const items = latest().getByRole('listitem');
    await expect.poll(() => items.count(), SOON).toBe(3);
    expect(await items.allInnerTexts()).toEqual([
      expect.stringMatching(/^#3\s+hello → local\s+SUCCESS\s/),
      expect.stringMatching(/^#2\s+hello → local\s+SUCCESS\s/),
      expect.stringMatching(/^#1\s+hello → local\s+FAILED\s/),
    ]);
    await page.evaluate(() => window.scrollTo(0, 0));
    const box = (await latest().boundingBox())!;
    expect(box.y).toBeGreaterThanOrEqual(0);
    expect(box.y + box.height).toBeLessThanOrEqual(VIEWPORT.height);
    // Without it, the full list starts screens below: past every fraise.
    const full = page.getByRole('region', { name: 'Recent deployments' });
    expect((await full.boundingBox())!.y).toBeGreaterThan(2 * VIEWPORT.height);
    await browser!.screenshot('overview-02-latest-first', { fullPage: false });

    // The way to the full list, from the keyboard.
    await latest().getByRole('button', { name: 'All recent deployments' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id), SOON).toBe('deployments-title');
    const heading = (await full.getByRole('heading', { name: 'Recent deployments' }).boundingBox())!;
    expect(heading.y).toBeGreaterThanOrEqual(0);
    expect(heading.y).toBeLessThan(VIEWPORT.height);
    expect(browser!.problems).toEqual([]);
  });

  it('opens at the environment a health notification links to: marked, and in view', async () => {
    await page.evaluate(() => (location.hash = '#/environments/filler_29/production'));
    const target = page.locator('td:has(> .cell[data-fraise="filler_29"][data-environment="production"])');
    await expect.poll(() => target.getAttribute('class', { timeout: 1_000 }), SOON).toBe('spotlight');
    expect(await page.locator('td.spotlight').count()).toBe(1);
    // Far below the first screen in the grid, yet on screen.
    await expect.poll(async () => (await target.boundingBox())!.y, SOON).toBeGreaterThanOrEqual(0);
    const box = (await target.boundingBox())!;
    expect(box.y + box.height).toBeLessThanOrEqual(VIEWPORT.height);
    expect(browser!.problems).toEqual([]);
  });
});
