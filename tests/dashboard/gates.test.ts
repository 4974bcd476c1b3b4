import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { findDeployment } from '../../src/store/deployment.repository.js';
import { gql, startTestServer } from '../setup/app.js';
import { waitForEnd, waitUntil } from '../setup/deployments.js';
import { DIALECTS, type TestDatabase } from '../setup/dialects.js';
import { createServiceRepo, type ServiceRepo } from '../setup/service-repo.js';
import { type Browser, chromiumUnavailable, openBrowser } from './browser.js';

/*
 * Gates in the dashboard, in a real browser against a real server whose production environment
 * needs alice's approval: signed in as alice (approve scope), the overview lists a deployment as
 * it starts waiting (live), she approves it from the list and it leaves the list and runs to
 * SUCCESS; its page shows the approvals gate met, with her comment. Another one is rejected from
 * its own page (a reason is required) and ends CANCELLED. A deploy token sees no such list, and
 * the buttons disabled.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const skip = chromiumUnavailable();
const TOKENS = { deployer: 'gates-dash-deployer-01234', alice: 'gates-dash-alice-0123456' };
/** Waits long enough for a deployment of one short step; never a timed assertion. */
const LONG = { timeout: 30_000, interval: 100 };
/** For what the page shows after an action of its own. */
const SOON = { timeout: 10_000, interval: 50 };

describe('gates in the dashboard', () => {
  let repo: ServiceRepo;
  let database: TestDatabase;
  let app: App;
  let url: string;
  let browser: Browser | undefined;

  beforeAll(async () => {
    if (skip) return;
    repo = createServiceRepo();
    repo.commit('base');
    database = await sqlite.createDatabase();
    const yaml = `
fraisier:
  tokens:
    - { name: deployer, token: ${TOKENS.deployer}, scopes: [deploy] }
    - { name: alice, token: ${TOKENS.alice}, scopes: [approve] }
fraises:
  gated:
    type: custom
    environments:
      production:
        git_repo: ${repo.path}
        app_path: ${repo.appPath}/production
        steps:
          - { name: talk, command: [node, -e, "console.log('talked')"] }
        protection:
          approvals: { required: 1, approvers: [alice] }
`;
    ({ app, url } = await startTestServer(yaml, database.url));
    browser = await openBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await database?.drop();
    repo?.dispose();
  });

  const text = (locator: Locator) => locator.innerText({ timeout: 1_000 });
  const waitingList = (page: Page) => page.getByRole('region', { name: 'Waiting for approval' });
  const listed = (page: Page) => waitingList(page).locator('.approval-list > li').evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.id));
  const statusBadge = (page: Page) => page.locator('.status-line .badge');
  const gate = (page: Page, kind: string) => page.getByRole('region', { name: 'Gates' }).locator(`li.gate[data-kind="${kind}"]`);

  /** A deployment of a new commit to production, as the deploy token asks for it; resolves with its id once it waits. */
  async function waitingDeployment(version: string): Promise<string> {
    repo.commit(version);
    const queued = await gql(app, 'mutation { deploy(fraise: "gated", environment: "production") { success message deployment { id } } }', {}, { authorization: `Bearer ${TOKENS.deployer}` });
    expect(queued.errors).toBeUndefined();
    const id = queued.data.deploy.deployment.id as string;
    await waitUntil(async () => (await findDeployment(app.store.db, Number(id)))?.status === 'waiting' || undefined, { what: `deployment ${id} waiting` });
    return id;
  }

  async function signIn(page: Page, token: string): Promise<void> {
    await page.goto(`${url}/`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Use token' }).click();
  }

  it.skipIf(skip)('lists a deployment as it starts waiting; approved from the list, it leaves it and runs', { timeout: 120_000 }, async () => {
    const { page, problems } = browser!;
    await signIn(page, TOKENS.alice);
    await expect.poll(() => text(page.locator('#access-message')), SOON).toBe(
      'Signed in as an approver: you can approve or reject deployments waiting for approval. Deploy, roll back and cancel are disabled (token "alice" lacks the deploy scope).',
    );
    await expect.poll(() => text(waitingList(page).locator('.approvals-box')), SOON).toBe('Nothing is waiting for approval.');
    await expect.poll(() => text(page.locator('#connection')), SOON).toBe('Live');

    // Deployed while the page is open: it appears without a reload.
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const id = await waitingDeployment('one');
    await expect.poll(() => listed(page), LONG).toEqual([id]);
    const item = waitingList(page).locator(`li[data-id="${id}"]`);
    expect(await text(item.locator('.approval-head'))).toMatch(new RegExp(`^#${id} gated → production [0-9a-f]{12} requested by deployer (just now|\\d+ s ago)$`));
    expect(await item.locator('.gate').allInnerTexts()).toEqual(['Approvals: 0 of 1 approval']);
    // The grid shows it waiting in its cell, styled as a status.
    const cell = page.locator('.cell[data-fraise="gated"][data-environment="production"] .cell-activity');
    await expect.poll(() => text(cell), SOON).toBe(`#${id} WAITING`);
    expect(await cell.locator('.badge').getAttribute('class')).toBe('badge status-waiting');
    await browser!.screenshot('30-gates-waiting-for-approval');

    await item.getByRole('button', { name: `Approve #${id} (gated → production)` }).click();
    const dialog = page.getByRole('dialog', { name: `Approve deployment #${id}` });
    await dialog.getByLabel('Comment (optional)').fill('checked the migration');
    await dialog.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => dialog.isVisible(), SOON).toBe(false);
    await expect.poll(() => listed(page), LONG).toEqual([]);
    expect((await waitForEnd(app, id)).status).toBe('success');
    await expect.poll(() => text(page.locator(`.latest-list li[data-id="${id}"] .badge`)), LONG).toBe('SUCCESS');
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);

    // Its page: the approvals gate met, who approved, when, and why.
    await page.goto(`${url}/#/deployments/${id}`);
    await expect.poll(() => text(statusBadge(page)), SOON).toBe('SUCCESS');
    const approvals = gate(page, 'APPROVALS');
    await expect.poll(() => approvals.getAttribute('data-satisfied'), SOON).toBe('true');
    expect(await text(approvals.locator('.gate-head'))).toBe('✓ Approvals met');
    expect(await text(approvals.locator('.gate-message'))).toBe('approved: 1 of 1 approval (alice)');
    expect(await approvals.locator('.decision').allInnerTexts()).toEqual([expect.stringMatching(/^Approved by alice (just now|\d+ s ago): checked the migration$/)]);
    expect(await approvals.locator('.decision time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(problems).toEqual([]);
  });

  it.skipIf(skip)('shows a waiting deployment\'s gates on its page; rejected there with a reason, it ends CANCELLED', { timeout: 120_000 }, async () => {
    const { page, problems } = browser!;
    const id = await waitingDeployment('two');
    await page.goto(`${url}/#/deployments/${id}`);
    await expect.poll(() => text(statusBadge(page)), SOON).toBe('WAITING');
    expect(await statusBadge(page).getAttribute('class')).toBe('badge status-waiting');
    expect(await text(page.locator('.status-line'))).toBe('WAITING Waiting: 0 of 1 approval.');
    const approvals = gate(page, 'APPROVALS');
    expect(await text(approvals.locator('.gate-head'))).toBe('✗ Approvals not met');
    expect(await text(approvals.locator('.gate-message'))).toBe('0 of 1 approval');
    expect(await approvals.locator('.decision').count()).toBe(0);
    expect(await text(page.locator('.gates-note'))).toMatch(/^Evaluated again by time alone in (23 h|1 d) \(a window opening, a soak or timer ending, the approvals’ time running out\)\.$/);
    await expect.poll(() => page.locator('.timeline li[data-step="gate"]').getAttribute('data-state'), SOON).toBe('waiting');
    await browser!.screenshot('31-gates-deployment-waiting');

    await page.getByRole('button', { name: 'Reject', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: `Reject deployment #${id}` });
    await dialog.getByRole('button', { name: 'Reject' }).click();
    await expect.poll(() => text(dialog.getByRole('alert')), SOON).toBe('Say why: a rejection needs a reason.');
    expect((await findDeployment(app.store.db, Number(id)))?.status).toBe('waiting');
    await dialog.getByLabel('Reason (required)').fill('not during the sale');
    await dialog.getByRole('button', { name: 'Reject' }).click();
    await expect.poll(() => text(statusBadge(page)), SOON).toBe('CANCELLED');
    await expect.poll(() => text(approvals.locator('.gate-message')), SOON).toBe('rejected by alice: not during the sale');
    expect(await approvals.locator('.decision').allInnerTexts()).toEqual([expect.stringMatching(/^Rejected by alice (just now|\d+ s ago): not during the sale$/)]);
    expect(await text(page.locator('.deployment-facts'))).toContain('rejected by alice: not during the sale');
    expect(await page.locator('.deployment-actions button').count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it.skipIf(skip)('a deploy token sees no approval list, and the approve buttons disabled', { timeout: 120_000 }, async () => {
    const id = await waitingDeployment('three');
    const page = await browser!.context.newPage();
    try {
      await signIn(page, TOKENS.deployer);
      await expect.poll(() => text(page.locator('#access-message')), SOON).toBe('Signed in with a deploy token: you can deploy, roll back and cancel.');
      await expect.poll(() => page.getByRole('region', { name: 'Latest deployments' }).count(), SOON).toBe(1);
      expect(await waitingList(page).count()).toBe(0);
      await page.goto(`${url}/#/deployments/${id}`);
      await expect.poll(() => text(statusBadge(page)), SOON).toBe('WAITING');
      const approve = page.getByRole('button', { name: 'Approve', exact: true });
      expect(await approve.isDisabled()).toBe(true);
      expect(await approve.getAttribute('title')).toBe('Needs a token with the approve scope');
      // Cancelling a waiting deployment is the deploy scope's.
      expect(await page.getByRole('button', { name: 'Cancel deployment' }).isEnabled()).toBe(true);
    } finally {
      await page.close();
    }
  });
});
