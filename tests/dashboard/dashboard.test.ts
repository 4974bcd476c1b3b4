import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import pino from 'pino';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.js';
import { createStore } from '../../src/store/store.js';
import { BASIC_CONFIG, createTestApp, testConfig } from '../setup/app.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { githubPush } from '../setup/github-push.js';
import { createServiceRepo, freePort, helloEnvironment, type ServiceRepo } from '../setup/service-repo.js';
import { type Browser, chromiumUnavailable, openBrowser } from './browser.js';

/*
 * The dashboard in a real browser, against a real server deploying a real service: sign in,
 * watch a deployment triggered by a signed GitHub push stream its steps live, see a broken
 * release end ROLLED_BACK, read the webhook deliveries (hostile text shown as text), deploy
 * with a dry-run preview, cancel, roll back, survive a server restart, and fit a phone; pause,
 * resume and promote a deployment from its page.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const skip = chromiumUnavailable();

const SECRET = 'dashboard-webhook-secret';
const TOKENS = { deploy: 'dashboard-deploy-token-0123', read: 'dashboard-read-token-012345' };
const HOLD = resolve('tests/dashboard/hold.mjs');
/** The screenshot the README shows. */
const README_PICTURE = resolve('docs/dashboard.png');
/** Waits long enough for a deployment of the tiny service; never a timed assertion. */
const LONG = { timeout: 30_000, interval: 100 };
/** For what the page shows after an action of its own. */
const SOON = { timeout: 10_000, interval: 50 };
/** Commit messages as a pusher may write them: markup and terminal escapes. */
const HOSTILE_MESSAGE = '<img src=x onerror="document.body.dataset.pwned=1">\u001b[31mred\u001b[0m release';
const HOSTILE_AUTHOR = '<b>Mallory</b>';

function config(repo: ServiceRepo, port: number): string {
  return `
fraisier:
  lease: { ttl: 5s, heartbeat: 1s }
  poll_interval: 1s
  drain_timeout: 2s
  webhook: { rate_limit: false }
  tokens:
    - { name: deployer, token: ${TOKENS.deploy}, scopes: [deploy] }
    - { name: viewer, token: ${TOKENS.read}, scopes: [read] }
git:
  provider: github
  github:
    webhook_secret: ${SECRET}
fraises:
  hello:
    type: api
    description: Tiny HTTP service
    git: { repository: acme/hello }
    environments:
${helloEnvironment(repo, port, { install: `[node, ${HOLD}, ${join(repo.scratch, 'hold')}]`, retries: 10 })}`;
}

describe('the dashboard in a browser', () => {
  let repo: ServiceRepo;
  let database: TestDatabase;
  let app: App | undefined;
  let url: string;
  let browser: Browser | undefined;
  const hold = () => join(repo.scratch, 'hold');

  const startApp = async (port = 0) => {
    app = createApp({ config: testConfig(config(repo, servicePort)), store: createStore(database.url), logger: pino({ level: 'silent' }) });
    return app.start({ port });
  };
  let servicePort: number;

  beforeAll(async () => {
    if (skip) return;
    repo = createServiceRepo();
    servicePort = await freePort();
    database = await sqlite.createDatabase();
    ({ url } = await startApp());
    browser = await openBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await database?.drop();
    repo?.dispose();
  });

  /** A signed GitHub push of `sha` to main, as GitHub sends it; resolves with the queued deployment's id. */
  async function push(sha: string, message: string): Promise<string> {
    const response = await githubPush(url, SECRET, { sha, message, author: { name: HOSTILE_AUTHOR, email: 'mallory@example.com' } });
    const result = (await response.json()) as { deployments: { id: string }[] };
    expect(response.status, JSON.stringify(result)).toBe(202);
    expect(result.deployments).toHaveLength(1);
    return result.deployments[0]!.id;
  }

  /** The text shown, or a failure at once when it is not there (expect.poll asks again). */
  const text = (locator: Locator) => locator.innerText({ timeout: 1_000 });
  const deploymentRow = (page: Page, id: string) => page.getByRole('region', { name: 'Recent deployments' }).locator(`tr[data-id="${id}"]`);
  const statusBadge = (page: Page) => page.locator('.status-line .badge');
  const step = (page: Page, name: string) => page.locator(`.timeline li[data-step="${name}"]`);
  const steps = (page: Page) => page.locator('.timeline li').evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.step));

  it.skipIf(skip)('says when the API is open, and shows every fraise in every environment', async () => {
    const open = await createTestApp(sqlite, { config: testConfig(BASIC_CONFIG) });
    const page = await browser!.context.newPage();
    try {
      const { url: openUrl } = await open.app.start({ port: 0 });
      await page.goto(`${openUrl}/`);
      await expect.poll(() => text(page.locator('#access-message')), SOON).toBe(
        'Open API: no tokens are configured, so anyone who can reach this server may deploy.',
      );
      expect(await page.locator('#token-form').isHidden()).toBe(true);
      await expect.poll(() => text(page.locator('#connection')), SOON).toBe('Live');
      const grid = page.getByRole('region', { name: 'Environments' }).getByRole('table');
      await expect.poll(() => grid.getByRole('columnheader').allInnerTexts(), SOON).toEqual(['Fraise', 'staging', 'production']);
      await expect.poll(() => grid.getByRole('rowheader').allInnerTexts(), SOON).toEqual(['my_api api\nMy API', 'my_worker worker']);
      const worker = grid.getByRole('row').filter({ has: page.getByRole('rowheader', { name: /my_worker/ }) });
      expect(await worker.locator('td').allInnerTexts()).toEqual([expect.stringMatching(/^—\s+not deployed here$/), expect.stringMatching(/^UNKNOWN\s+Version\s+—\s+Deployed\s+never\s+Target\s+kubernetes/)]);
      expect(await text(grid.locator('td[data-label="staging"]').first())).toMatch(/Target\s+coolify\s+Branch\s+staging/);
      expect(await page.getByRole('button', { name: 'Deploy my_worker to production' }).isEnabled()).toBe(true);
      expect(await page.getByRole('region', { name: 'Recent deployments' }).innerText()).toContain('No deployment yet.');
      expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    } finally {
      await page.close();
      await open.dispose();
    }
  });

  it.skipIf(skip)('streams, deploys, rolls back and cancels from the page', { timeout: 120_000 }, async () => {
    const { page, problems } = browser!;
    const commits: Record<string, string> = { A: repo.commit('A') };
    await page.goto(`${url}/`);

    // Landmarks a screen reader user jumps between.
    for (const role of ['banner', 'main', 'contentinfo'] as const) await expect.poll(() => page.getByRole(role).count(), SOON).toBe(1);
    await expect.poll(() => page.getByRole('navigation', { name: 'Main' }).count(), SOON).toBe(1);

    // Tokens are configured: nothing to see without one. A wrong one is refused clearly.
    const accessMessage = page.locator('#access-message');
    await expect.poll(() => text(accessMessage), SOON).toMatch(/requires an API token/);
    await page.getByLabel('API token').fill('not-a-token');
    await page.getByRole('button', { name: 'Use token' }).click();
    await expect.poll(() => text(accessMessage), SOON).toBe('The token was refused: invalid token.');

    // A read token: everything shows, the actions are disabled, and the page says why.
    await page.getByLabel('API token').fill(TOKENS.read);
    await page.keyboard.press('Enter');
    await expect.poll(() => text(accessMessage), SOON).toMatch(/^Read-only: token "viewer" lacks the deploy scope/);
    const deployButton = page.getByRole('button', { name: 'Deploy hello to local' });
    await expect.poll(() => deployButton.isDisabled(), SOON).toBe(true);
    await expect.poll(() => text(page.locator('#connection')), SOON).toBe('Live');
    await expect.poll(() => page.evaluate(() => sessionStorage.length), SOON).toBe(1);

    // A deploy token: entered once, kept for the session.
    await page.getByRole('button', { name: 'Change token' }).click();
    await page.getByLabel('API token').fill(TOKENS.deploy);
    await page.getByRole('button', { name: 'Use token' }).click();
    await expect.poll(() => text(accessMessage), SOON).toBe('Signed in with a deploy token: you can deploy, roll back and cancel.');
    await expect.poll(() => deployButton.isEnabled(), SOON).toBe(true);
    await expect.poll(() => text(page.locator('#connection')), SOON).toBe('Live');
    await page.reload();
    await expect.poll(() => text(accessMessage), SOON).toMatch(/^Signed in with a deploy token/);
    await expect.poll(() => text(page.locator('#connection')), SOON).toBe('Live');

    // 1. A push deploys A. The install step is held, so the page opens the deployment halfway:
    //    the replay shows what already ran, then the rest streams in without a reload.
    writeFileSync(hold(), '');
    const first = await push(commits.A!, HOSTILE_MESSAGE);
    const row = deploymentRow(page, first);
    await row.waitFor(LONG);
    await row.getByRole('link', { name: `#${first}` }).click();
    await expect.poll(() => page.url(), SOON).toBe(`${url}/#/deployments/${first}`);
    await expect.poll(() => step(page, 'install').getAttribute('data-state'), LONG).toBe('running');
    expect(await steps(page)).toEqual(['preflight', 'fetch', 'install']);
    await expect.poll(() => text(step(page, 'install').locator('.step-message')), SOON).toBe(`Running node ${HOLD} ${hold()}`);
    expect(await text(step(page, 'fetch').locator('.log'))).toContain(`Code updated (${commits.A!.slice(0, 12)})`);
    await expect.poll(() => text(statusBadge(page)), SOON).toBe('IN_PROGRESS');
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    await browser!.screenshot('01-deployment-halfway');
    rmSync(hold());
    await expect.poll(() => text(statusBadge(page)), LONG).toBe('SUCCESS');
    expect(await steps(page)).toEqual(['preflight', 'fetch', 'install', 'restart', 'health_check', 'done']);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await page.locator('#deployment-progress').evaluate((p) => (p as HTMLProgressElement).value)).toBe(100);
    expect(await text(step(page, 'fetch'))).toMatch(/fetch\s+done\s+\d+(\.\d)? (ms|s)/);
    expect(await text(step(page, 'install').locator('.log'))).toMatch(/^install done in \d+\.\ds$/);
    expect(await text(page.locator('.status-line'))).toContain(`Deployed ${commits.A!.slice(0, 12)} successfully.`);
    await browser!.screenshot('02-deployment-success');

    // 2. A push of a release that fails its health check: it appears live, ends ROLLED_BACK.
    await page.getByRole('link', { name: '← Overview' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    commits.B = repo.commit('B', { healthy: false });
    const second = await push(commits.B, 'B: a broken release');
    await deploymentRow(page, second).getByRole('link', { name: `#${second}` }).click();
    await expect.poll(() => text(statusBadge(page)), LONG).toBe('ROLLED_BACK');
    expect(await steps(page)).toEqual(expect.arrayContaining(['health_check', 'rollback', 'rolled_back']));
    expect(await step(page, 'health_check').getAttribute('data-state')).toBe('failed');
    expect(await text(page.locator('.deployment-facts'))).toMatch(/Error\s+health check failed/);
    await browser!.screenshot('03-deployment-rolled-back');

    // 3. The webhook deliveries, the pusher's markup shown as text and never run.
    await page.getByRole('link', { name: '← Overview' }).click();
    const webhooks = page.getByRole('region', { name: 'Webhook deliveries' });
    await expect.poll(() => webhooks.locator('tbody tr').count(), LONG).toBe(2);
    const delivery = webhooks.locator('tbody tr').last();
    expect(await text(delivery)).toContain('<img src=x onerror="document.body.dataset.pwned=1">red release');
    expect(await text(delivery)).toContain(HOSTILE_AUTHOR);
    expect(await text(delivery.locator('.badge').first())).toBe('accepted');
    expect(await webhooks.locator('img, b').count()).toBe(0);
    expect(await page.evaluate(() => document.body.dataset.pwned)).toBeUndefined();
    expect(await text(page.locator('.grid td[data-label="local"]'))).toMatch(new RegExp(`HEALTHY[\\s\\S]*${commits.A!.slice(0, 12)}`));

    // 4. Deploy from the page: the keyboard opens the dialog, a dry run shows the plan first.
    writeFileSync(hold(), '');
    commits.C = repo.commit('C');
    await deployButton.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Deploy hello to local' });
    const plan = dialog.getByRole('list', { name: 'Steps that will run' });
    await expect.poll(() => plan.locator('li').allInnerTexts(), SOON).toEqual(['preflight', 'fetch', 'install', 'restart', 'health_check']);
    expect(await text(dialog.locator('.plan-message'))).toBe(`dry run: would deploy ${commits.C.slice(0, 12)} to hello/local (bare-metal); nothing was queued`);
    await browser!.screenshot('04-deploy-dry-run', { fullPage: false });
    // Escape closes it and gives the focus back; nothing was queued.
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count(), SOON).toBe(0);
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.focusKey)).toBe('deploy:hello:local');
    await deployButton.click();
    await expect.poll(() => plan.locator('li').count(), SOON).toBe(5);
    await dialog.getByRole('button', { name: 'Deploy', exact: true }).click();
    await expect.poll(() => page.url(), SOON).toMatch(/#\/deployments\/\d+$/);
    const third = page.url().split('/').at(-1)!;
    await expect.poll(() => step(page, 'install').getAttribute('data-state'), LONG).toBe('running');

    // 5. Cancel it while its install runs.
    await page.getByRole('button', { name: 'Cancel deployment' }).click();
    await page.getByRole('dialog', { name: `Cancel deployment #${third}` }).getByRole('button', { name: 'Cancel deployment' }).click();
    await expect.poll(() => text(statusBadge(page)), LONG).toBe('CANCELLED');
    rmSync(hold());
    await expect.poll(() => page.getByRole('button', { name: 'Cancel deployment' }).count(), SOON).toBe(0);

    // 6. Deploy C for real, then roll back to A, picked from the successful history.
    await page.getByRole('link', { name: '← Overview' }).click();
    await deployButton.click();
    await expect.poll(() => plan.locator('li').count(), SOON).toBe(5);
    await dialog.getByRole('button', { name: 'Deploy', exact: true }).click();
    await expect.poll(() => /#\/deployments\/(\d+)$/.exec(page.url())?.[1], SOON).toMatch(/^\d+$/);
    expect(page.url()).not.toMatch(new RegExp(`/${third}$`));
    await expect.poll(() => text(statusBadge(page)), LONG).toBe('SUCCESS');
    await page.getByRole('link', { name: '← Overview' }).click();
    await expect.poll(() => text(page.locator('.grid td[data-label="local"] .version')), SOON).toBe(commits.C.slice(0, 12));
    await page.getByRole('button', { name: 'Roll back hello on local' }).click();
    const rollback = page.getByRole('dialog', { name: 'Roll back hello on local' });
    const choices = rollback.getByRole('group', { name: 'Version to roll back to' }).getByRole('radio');
    await expect.poll(() => choices.count(), SOON).toBe(1);
    expect(await choices.first().getAttribute('value')).toBe(commits.A);
    expect(await choices.first().isChecked()).toBe(true);
    await rollback.getByRole('button', { name: 'Roll back' }).click();
    await expect.poll(() => text(statusBadge(page)), LONG).toBe('SUCCESS');
    expect(await steps(page)).toEqual(['preflight', 'checkout', 'restart', 'health_check', 'done']);
    expect(await text(page.locator('.deployment-facts'))).toMatch(new RegExp(`Version\\s+${commits.C.slice(0, 12)}\\s+→\\s+${commits.A!.slice(0, 12)}`));
    await page.getByRole('link', { name: '← Overview' }).click();
    await expect.poll(() => text(page.locator('.grid td[data-label="local"] .version')), SOON).toBe(commits.A!.slice(0, 12));

    // The README's picture: the overview as it really looks after all that (refreshed on
    // request only, so that a test run leaves the committed files alone).
    await page.getByRole('region', { name: 'Webhook deliveries' }).locator('tbody tr').first().waitFor();
    const overview = await browser!.screenshot('05-overview');
    if (process.env.FRAISIER_UPDATE_DOCS || !existsSync(README_PICTURE)) {
      mkdirSync(dirname(README_PICTURE), { recursive: true });
      copyFileSync(overview, README_PICTURE);
    }

    // 7. At phone width nothing overflows sideways; the tables become labelled blocks.
    await page.setViewportSize({ width: 360, height: 780 });
    await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth), SOON).toBeLessThanOrEqual(360);
    await browser!.screenshot('06-overview-phone');
    await deploymentRow(page, second).getByRole('link', { name: `#${second}` }).click();
    await expect.poll(() => text(statusBadge(page)), SOON).toBe('ROLLED_BACK');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await browser!.screenshot('07-deployment-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.getByRole('link', { name: '← Overview' }).click();

    // 8. The server restarts under an open deployment, held at its install step. The page
    //    says so and reconnects by itself; the subscription is sent again and its replay
    //    brings what was recorded meanwhile (the run interrupted, queued again, run again),
    //    each event once. New deployments keep appearing on the overview.
    writeFileSync(hold(), '');
    commits.D = repo.commit('D');
    const fourth = await push(commits.D, 'D: across a restart');
    await deploymentRow(page, fourth).getByRole('link', { name: `#${fourth}` }).click();
    await expect.poll(() => step(page, 'install').getAttribute('data-state'), LONG).toBe('running');
    const port = Number(new URL(url).port);
    await app!.stop();
    await expect.poll(() => text(page.locator('#connection')), LONG).toMatch(/^Reconnecting…/);
    await startApp(port);
    await expect.poll(() => steps(page), LONG).toEqual(['preflight', 'fetch', 'install', 'interrupted', 'preflight', 'fetch', 'install']);
    await expect.poll(() => text(page.locator('#connection')), SOON).toBe('Live');
    expect(await page.locator('.timeline li[data-step="install"]').first().getAttribute('data-state')).toBe('interrupted');
    await browser!.screenshot('08-deployment-after-restart');
    rmSync(hold());
    await expect.poll(() => text(statusBadge(page)), LONG).toBe('SUCCESS');
    expect(await steps(page)).toEqual(['preflight', 'fetch', 'install', 'interrupted', 'preflight', 'fetch', 'install', 'restart', 'health_check', 'done']);
    await page.getByRole('link', { name: '← Overview' }).click();
    commits.E = repo.commit('E');
    const fifth = await push(commits.E, 'E: after the restart');
    await expect.poll(() => text(deploymentRow(page, fifth).locator('.badge')), LONG).toBe('SUCCESS');
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);

    expect(problems).toEqual([]);
  });

  it.skipIf(skip)('pauses, resumes and promotes from the deployment page', { timeout: 120_000 }, async () => {
    const { page, problems } = browser!;
    const buttons = () => page.locator('.deployment-actions button').allInnerTexts();
    // Signed in with the deploy token by the test before (kept for the session).
    writeFileSync(hold(), '');
    const paused = await push(repo.commit('P'), 'P: paused on the way');
    await page.goto(`${url}/#/deployments/${paused}`);
    await expect.poll(() => step(page, 'install').getAttribute('data-state'), LONG).toBe('running');
    await expect.poll(buttons, SOON).toEqual(['Pause', 'Promote', 'Cancel deployment']);
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await expect.poll(() => page.locator('#announcer').textContent(), SOON).toMatch(/pause requested/i);
    // The install step runs to its end; the deployment pauses at the next boundary.
    rmSync(hold());
    await expect.poll(() => text(statusBadge(page)), LONG).toBe('PAUSED');
    expect(await text(page.locator('.status-line'))).toContain('Paused by deployer; waits until resumed or promoted.');
    await expect.poll(() => step(page, 'paused').getAttribute('data-state'), SOON).toBe('paused');
    expect(await text(page.locator('.deployment-facts'))).toMatch(/Pause\s+Paused by deployer \(until resumed or promoted\)/);
    // The request heard is a line of the step that ran: the install step stays one.
    expect(await text(step(page, 'install').locator('.log'))).toContain('Pause requested by deployer: pauses at the next step boundary');
    await expect.poll(buttons, SOON).toEqual(['Resume', 'Promote', 'Cancel deployment']);
    expect(await steps(page)).not.toContain('restart');
    await browser!.screenshot('09-deployment-paused');
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await expect.poll(() => text(statusBadge(page)), LONG).toBe('SUCCESS');
    expect(await steps(page)).toEqual(['preflight', 'fetch', 'install', 'paused', 'resumed', 'restart', 'health_check', 'done']);
    await expect.poll(buttons, SOON).toEqual([]);

    writeFileSync(hold(), '');
    const promoted = await push(repo.commit('Q'), 'Q: promoted');
    await page.goto(`${url}/#/deployments/${promoted}`);
    await expect.poll(() => step(page, 'install').getAttribute('data-state'), LONG).toBe('running');
    await page.getByRole('button', { name: 'Promote', exact: true }).click();
    await page.getByRole('dialog', { name: `Promote deployment #${promoted}` }).getByRole('button', { name: 'Promote' }).click();
    await expect.poll(() => text(page.locator('.deployment-facts')), SOON).toMatch(/Promoted\s+yes/);
    await expect.poll(buttons, SOON).toEqual(['Pause', 'Cancel deployment']);
    rmSync(hold());
    await expect.poll(() => text(statusBadge(page)), LONG).toBe('SUCCESS');
    expect(await text(step(page, 'install').locator('.log'))).toContain('Promoted by deployer: the remaining steps and pauses are skipped');
    expect(problems).toEqual([]);
  });
});
