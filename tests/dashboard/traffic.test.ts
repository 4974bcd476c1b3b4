import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryConfig, deploy, slotPorts } from '../setup/blue-green.js';
import { createTestApp, gql, type TestApp, testConfig } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';
import { nginxUnavailable, startNginx, type TestNginx } from '../setup/nginx.js';
import { createServiceRepo, type ServiceRepo } from '../setup/service-repo.js';
import { type Browser, chromiumUnavailable, openBrowser } from './browser.js';

/*
 * The traffic split on a deployment's page, in a real browser, live: a canary of the hello
 * service behind a real nginx, held at each step until someone acts. The page shows each slot,
 * its version and its share as a bar, and follows the weights from the progress subscription
 * (10%, then 50% once resumed from the page, then 100% once promoted from the page) without a
 * reload.
 */

const sqlite = DIALECTS.find((d) => d.name === 'sqlite')!;
const skip = chromiumUnavailable() ?? nginxUnavailable();
/** Waits long enough for a deployment of the tiny service; never a timed assertion. */
const LONG = { timeout: 30_000, interval: 100 };
const SOON = { timeout: 10_000, interval: 50 };

describe('the traffic split on the deployment page', () => {
  let repo: ServiceRepo;
  let nginx: TestNginx;
  let t: TestApp;
  let url: string;
  let browser: Browser | undefined;

  beforeAll(async () => {
    if (skip) return;
    repo = createServiceRepo();
    const ports = await slotPorts();
    nginx = await startNginx({ initialPort: ports[0] });
    t = await createTestApp(sqlite, { config: testConfig(canaryConfig(repo, nginx, ports, { pause: 'until_promoted' })) });
    ({ url } = await t.app.start({ port: 0 }));
    browser = await openBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.dispose();
    await nginx?.stop();
    repo?.dispose();
  });

  const text = (locator: Locator) => locator.innerText({ timeout: 1_000 });
  /** Each slot as the page shows it: "slot weight% version", in order. */
  const split = (page: Page) =>
    page.locator('.traffic-split li').evaluateAll((items) =>
      items.map((li) => {
        const item = li as HTMLElement;
        const meter = item.querySelector('meter') as HTMLMeterElement;
        return `${item.dataset.slot} ${meter.value}% ${item.querySelector('.version')?.textContent ?? '—'}`;
      }),
    );

  it.skipIf(skip)('shows each slot, its version and share, and follows the weights live', { timeout: 120_000 }, async () => {
    const { page, problems } = browser!;
    const A = repo.commit('A');
    expect((await deploy(t, A)).status).toBe('success');
    const B = repo.commit('B');
    const queued = await gql(t.app, `mutation($c: String) { deploy(fraise: "hello", environment: "local", commit: $c) { deployment { id } } }`, { c: B });
    const id = queued.data.deploy.deployment.id as string;

    await page.goto(`${url}/#/deployments/${id}`);
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const panel = page.getByRole('region', { name: 'Traffic' });
    await expect.poll(() => split(page), LONG).toEqual([`blue 90% ${A.slice(0, 12)}`, `green 10% ${B.slice(0, 12)}`]);
    await expect.poll(() => text(page.locator('.status-line .badge')), SOON).toBe('PAUSED');
    expect(await panel.getByRole('meter', { name: 'green: 10% of the requests' }).count()).toBe(1);
    expect(await text(panel.locator('.traffic-note'))).toMatch(new RegExp(`^Since [^:]+:[^:]+:\\S+( [AP]M)?: Slot green \\(port \\d+, ${B.slice(0, 12)}\\) takes 10% of the traffic, slot blue \\(${A.slice(0, 12)}\\) 90%$`));
    expect(await text(panel)).toMatch(/blue\s+port \d+\s+[0-9a-f]{12}\s+90%/);
    await browser!.screenshot('10-canary-traffic-10');

    // Resumed from the page: the next step, 50%, shows as soon as it is streamed.
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await expect.poll(() => split(page), LONG).toEqual([`blue 50% ${A.slice(0, 12)}`, `green 50% ${B.slice(0, 12)}`]);
    await expect.poll(() => text(page.locator('.status-line .badge')), LONG).toBe('PAUSED');

    // Promoted from the page: all the traffic on the canary, the deployment done.
    await page.getByRole('button', { name: 'Promote', exact: true }).click();
    await page.getByRole('dialog', { name: `Promote deployment #${id}` }).getByRole('button', { name: 'Promote' }).click();
    await expect.poll(() => split(page), LONG).toEqual([`blue 0% ${A.slice(0, 12)}`, `green 100% ${B.slice(0, 12)}`]);
    await expect.poll(() => text(page.locator('.status-line .badge')), LONG).toBe('SUCCESS');
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await (await fetch(`${nginx.url}/version`)).text()).toBe('B');
    await browser!.screenshot('11-canary-traffic-100');
    // At phone width nothing overflows sideways.
    await page.setViewportSize({ width: 360, height: 780 });
    await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth), SOON).toBeLessThanOrEqual(360);
    await browser!.screenshot('12-canary-traffic-phone');
    await page.setViewportSize({ width: 1280, height: 900 });

    // The first deployment was blue-green's (nothing to compare a canary with): one switch.
    await page.goto(`${url}/#/deployments/1`);
    await expect.poll(() => split(page), SOON).toEqual([`blue 100% ${A.slice(0, 12)}`]);
    expect(problems).toEqual([]);
  });
});
