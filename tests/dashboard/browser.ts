import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/*
 * Debian's Chromium driven by playwright-core. The flags keep it from reaching for a network
 * this machine does not have (updates, sync, QUIC); a fresh profile per run.
 */

export const CHROMIUM = process.env.FRAISIER_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Where screenshots go (git-ignored). */
export const ARTIFACTS = resolve('tests/artifacts/dashboard');

/** Why the browser tests cannot run here, or undefined. Under CI a missing Chromium is a failure. */
export function chromiumUnavailable(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const reason = `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  if (process.env.CI) throw new Error(`${reason}: under CI the browser tests must run`);
  return reason;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions the page produced (CSP refusals show up here). */
  problems: string[];
  screenshot(name: string, options?: { fullPage?: boolean }): Promise<string>;
  close(): Promise<void>;
}

/** Messages Chromium logs for what the dashboard expects: 401/403 answers to its access probes, a server that is restarting. */
const EXPECTED = [/^Failed to load resource: the server responded with a status of 40[13]/, /^WebSocket connection to '.*' failed/, /net::ERR_CONNECTION_REFUSED/];

/** `args`: more Chromium flags, e.g. `--host-resolver-rules=MAP evil.example 127.0.0.1` to play DNS rebinding. */
export async function openBrowser(viewport = { width: 1280, height: 900 }, options: { args?: readonly string[] } = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'fraisier-chromium-'));
  mkdirSync(ARTIFACTS, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...(options.args ?? []),
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    if (EXPECTED.some((pattern) => pattern.test(message.text()))) return;
    problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  return {
    context,
    page,
    problems,
    async screenshot(name, options = {}) {
      const path = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path, fullPage: options.fullPage ?? true });
      return path;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
