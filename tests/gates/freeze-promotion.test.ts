import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthStatus } from '../../src/model.js';
import type { HealthResult, TargetContext } from '../../src/providers/provider.js';
import { createTestApp, type TestApp, testConfig } from '../setup/app.js';
import { waitForEnd, waitUntil } from '../setup/deployments.js';
import { DIALECTS } from '../setup/dialects.js';
import { HoldProvider } from '../setup/hold-provider.js';

/*
 * Freezes and promotion through the real API, dispatcher and store, with the clock injected
 * (real time plus an offset the test moves): a freeze holds every deployment except an admin's
 * forced one (recorded as such), and lets the others go when it ends; a commit goes to production
 * only once staging ran it to SUCCESS and stayed healthy for the soak (refused instead with
 * on_missing: refuse), waits again when staging turns unhealthy (the monitor's reading), and the
 * dispatcher wakes by itself when a soak ends. The poll is an hour here: only the dispatcher's
 * wake-up timer, a notify or a run ending makes it look.
 */

const TOKENS = { ci: 'ci-deploys-0123456789', root: 'root-administers-0123456789' };

/** The test target, whose health check says what the test sets per environment (healthy otherwise). */
class HealthProvider extends HoldProvider {
  readonly health = new Map<string, HealthStatus>();

  override async healthCheck(ctx?: TargetContext): Promise<HealthResult> {
    return { status: (ctx && this.health.get(ctx.env.name)) ?? 'healthy', message: 'test' };
  }
}

const FREEZE_FROM = new Date(Date.now() - 3600_000).toISOString();
// A daily window opening two hours from now (UTC) for an hour, past midnight if it must.
const OPENS = new Date(Math.ceil((Date.now() + 2 * 3600_000) / 60_000) * 60_000);
const hhmm = (d: Date) => d.toISOString().slice(11, 16);
const WINDOW = `{ days: daily, from: "${hhmm(OPENS)}", to: "${hhmm(new Date(OPENS.getTime() + 3600_000))}", timezone: UTC }`;
const FREEZE_TO = new Date(Date.now() + 2 * 3600_000).toISOString();

const CONFIG = `
fraisier:
  poll_interval: 1h
  tokens:
    - { name: ci, token: ${TOKENS.ci}, scopes: [deploy] }
    - { name: root, token: ${TOKENS.root}, scopes: [admin] }
# Checked by the test (checkAll), never on its own.
monitor: { interval: 24h }
fraises:
  api:
    type: api
    environments:
      staging:
        target: { provider: test-hold }
      frozen:
        target: { provider: test-hold }
        protection:
          freeze: [{ from: "${FREEZE_FROM}", to: "${FREEZE_TO}", reason: release week }]
      production:
        target: { provider: test-hold }
        protection:
          promotion: { from: staging, soak: 30m }
      strict:
        target: { provider: test-hold }
        protection:
          promotion: { from: staging, soak: 30m, on_missing: refuse }
      quick:
        target: { provider: test-hold }
        protection:
          promotion: { from: staging, soak: 2s }
      windowed:
        target: { provider: test-hold }
        protection:
          windows: [${WINDOW}]
      windowed-strict:
        target: { provider: test-hold }
        protection:
          windows: [${WINDOW}]
          on_outside: refuse
`;

const READ = `query($id: ID!) { deployment(id: $id) { id status errorMessage waitingUntil gates { kind satisfied message } progress { step message } } }`;
const commit = (n: number) => `${String(n).padStart(2, '0')}beef${'0'.repeat(34)}`;
const short = (n: number) => commit(n).slice(0, 7);

for (const dialect of DIALECTS) {
  describe(`freezes and promotion on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    const provider = new HealthProvider();
    let offset = 0;
    let t: TestApp;
    let url: string;

    beforeAll(async () => {
      if (skip) return;
      t = await createTestApp(dialect, { config: testConfig(CONFIG), now: () => new Date(Date.now() + offset) });
      t.app.providers.register(provider);
      ({ url } = await t.app.start({ port: 0 }));
    });
    afterAll(() => t?.dispose());

    const post = async (query: string, variables: Record<string, unknown>, who: keyof typeof TOKENS = 'ci') => {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS[who]}` },
        body: JSON.stringify({ query, variables }),
      });
      const answer = (await response.json()) as { data?: any; errors?: unknown };
      expect(answer.errors).toBeUndefined();
      return answer.data;
    };
    const deploy = async (environment: string, n: number, options: { who?: keyof typeof TOKENS; force?: boolean } = {}): Promise<string> => {
      const data = await post(
        'mutation($e: String!, $c: String, $f: Boolean) { deploy(fraise: "api", environment: $e, commit: $c, force: $f) { deployment { id } } }',
        { e: environment, c: commit(n), f: options.force ?? false },
        options.who,
      );
      return data.deploy.deployment.id;
    };
    const read = async (id: string) => (await post(READ, { id })).deployment;
    /** Resolves with the deployment once `check` holds for it (state another component writes). */
    const until = (id: string, what: string, check: (d: any) => boolean) =>
      waitUntil(async () => {
        const d = await read(id);
        return check(d) ? d : undefined;
      }, { what: `deployment ${id}: ${what}` });
    const gateLines = async (id: string) => ((await read(id)).progress as { step: string; message: string }[]).filter((p) => p.step === 'gate').map((p) => p.message);
    const promotion = (d: any) => d.gates?.find((g: { kind: string }) => g.kind === 'PROMOTION');
    const succeed = async (environment: string, n: number) => {
      const id = await deploy(environment, n);
      expect((await waitForEnd(t.app, id)).status).toBe('success');
      return id;
    };

    it.skipIf(skip)('a freeze holds every deployment but an admin\'s forced one, recorded as such, and lets the others go when it ends', async () => {
      const held = await deploy('frozen', 1, { force: true });
      const waiting = await until(held, 'frozen', (d) => d.status === 'WAITING');
      expect(waiting.gates).toEqual([{ kind: 'FREEZE', satisfied: false, message: `frozen until ${FREEZE_TO}: release week` }]);
      expect(waiting.waitingUntil).toBe(FREEZE_TO);

      // An admin's forced deploy goes through (and supersedes the one waiting).
      const forced = await deploy('frozen', 2, { who: 'root', force: true });
      expect((await waitForEnd(t.app, forced)).status).toBe('success');
      expect(await read(held)).toMatchObject({ status: 'SUPERSEDED' });
      const done = await read(forced);
      expect(done.gates).toEqual([{ kind: 'FREEZE', satisfied: true, message: 'freeze overridden by root: release week' }]);
      expect(await gateLines(forced)).toEqual(['freeze overridden by root (force)', 'gates passed']);

      // Not forced, the admin waits like anyone; once the freeze is over it starts.
      const later = await deploy('frozen', 3, { who: 'root' });
      await until(later, 'frozen', (d) => d.status === 'WAITING' && d.gates[0].satisfied === false);
      offset += 3 * 3600_000;
      t.app.dispatcher.notify();
      expect((await waitForEnd(t.app, later)).status).toBe('success');
      expect(await gateLines(later)).toEqual([`waiting: frozen until ${FREEZE_TO}: release week`, 'gates passed']);
    });

    it.skipIf(skip)('promotes a commit only after it succeeded in staging and soaked there; refuses it with on_missing: refuse', async () => {
      const id = await deploy('production', 10);
      const never = await until(id, 'waiting for staging', (d) => d.status === 'WAITING');
      expect(promotion(never)).toEqual({ kind: 'PROMOTION', satisfied: false, message: `staging never ran ${short(10)} successfully` });
      expect(never.waitingUntil).toBeNull();
      const strict = await deploy('strict', 10);
      expect(await until(strict, 'refused', (d) => d.status === 'CANCELLED')).toMatchObject({ errorMessage: `staging never ran ${short(10)} successfully` });

      // Staging runs it: production now waits for the soak, and says until when.
      await succeed('staging', 10);
      const soaking = await until(id, 'soaking', (d) => /soaking until/.test(promotion(d).message));
      expect(promotion(soaking).message).toMatch(new RegExp(`^staging has run ${short(10)} healthy for \\d+s of 30m: soaking until ${soaking.waitingUntil.replace(/[.]/g, '\\.')}$`));
      expect(Date.parse(soaking.waitingUntil) - (Date.now() + offset)).toBeGreaterThan(29 * 60_000);
      expect(soaking.status).toBe('WAITING');

      // 31 minutes later (the injected clock), it goes.
      offset += 31 * 60_000;
      t.app.dispatcher.notify();
      expect((await waitForEnd(t.app, id)).status).toBe('success');
      expect(promotion(await read(id))).toMatchObject({ satisfied: true, message: expect.stringMatching(new RegExp(`^staging has run ${short(10)} healthy for 31m \\(soak 30m\\)$`)) });
      expect((await gateLines(id)).at(-1)).toBe('gates passed');
    });

    it.skipIf(skip)('starts a deployment when its soak ends, woken by its own timer', async () => {
      await succeed('staging', 20);
      const id = await deploy('quick', 20);
      const soaking = await until(id, 'soaking', (d) => d.status === 'WAITING' || d.status === 'SUCCESS');
      // No poll for an hour, nothing else queued: only the dispatcher's timer can start it.
      expect((await waitForEnd(t.app, id)).status).toBe('success');
      expect(Date.now() + offset).toBeGreaterThanOrEqual(Date.parse(soaking.waitingUntil ?? '0'));
      expect(await gateLines(id)).toEqual([expect.stringMatching(/^waiting: staging has run .+ soaking until /), 'gates passed']);
    });

    it.skipIf(skip)('holds a promotion while staging is unhealthy (refused with on_missing: refuse), and soaks again from its recovery', async () => {
      await succeed('staging', 30);
      provider.health.set('staging', 'down');
      expect((await t.app.monitor.checkAll()).map((c) => [c.environment, c.status])).toContainEqual(['staging', 'down']);

      const strict = await deploy('strict', 30);
      expect((await until(strict, 'refused', (d) => d.status === 'CANCELLED')).errorMessage).toMatch(/^staging is down since \S+$/);
      const id = await deploy('production', 30);
      const down = await until(id, 'waiting', (d) => d.status === 'WAITING');
      expect(promotion(down).message).toMatch(/^staging is down since /);
      expect(down.waitingUntil).toBeNull();

      // It recovers: the soak counts from then, not from the success before it went down.
      offset += 40 * 60_000;
      provider.health.delete('staging');
      expect((await t.app.monitor.checkAll()).map((c) => [c.environment, c.status])).toContainEqual(['staging', 'healthy']);
      t.app.dispatcher.notify();
      const soaking = await until(id, 'soaking again', (d) => /soaking until/.test(promotion(d).message));
      expect(Date.parse(soaking.waitingUntil) - (Date.now() + offset)).toBeGreaterThan(29 * 60_000);
      offset += 31 * 60_000;
      t.app.dispatcher.notify();
      expect((await waitForEnd(t.app, id)).status).toBe('success');
    });

    it.skipIf(skip)('outside its window a deployment waits for the opening and the dispatcher starts it then by itself (refused with on_outside: refuse)', async () => {
      offset = 0; // the tests before moved the clock on; the window opens two hours after the start
      const refused = await deploy('windowed-strict', 40);
      expect((await until(refused, 'refused', (d) => d.status === 'CANCELLED')).errorMessage).toMatch(/outside the deploy windows/);
      const id = await deploy('windowed', 41);
      const waiting = await until(id, 'waiting for the window', (d) => d.status === 'WAITING');
      expect(waiting.gates.find((g: { kind: string }) => g.kind === 'WINDOW')).toMatchObject({ satisfied: false });
      expect(waiting.waitingUntil).toBe(OPENS.toISOString());
      // Two seconds before the opening: nothing else happens, yet it starts when the window opens.
      offset = OPENS.getTime() - Date.now() - 2_000;
      t.app.dispatcher.notify();
      expect((await waitForEnd(t.app, id)).status).toBe('success');
      expect((await read(id)).gates.find((g: { kind: string }) => g.kind === 'WINDOW')).toMatchObject({ satisfied: true });
    });
  });
}
