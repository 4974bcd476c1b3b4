import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createStore } from '../src/store/store.js';
import { type Child, startFraisier } from './lib/processes.js';
import type { Row } from './lib/report.js';
import { ms, summarize } from './lib/stats.js';

/*
 * Fraisier's own time per deployment: a `deploy` mutation of a new commit of a real git
 * repository (in a temp directory) to this machine (bare metal, no host), whose one command is
 * /bin/true, until SUCCESS. From what the store recorded: requested → completed, minus the time
 * its git commands take (the fetch step: from its progress event to the next one) and its
 * command takes (the command's step, likewise). What is left is Fraisier's: queueing, claiming,
 * the pre-flight checks (the directories, the host lock, the repository reachable), the release
 * switch, the progress events, the end. Bar (DESIGN §9): p50 < 50 ms. One deployment at a time,
 * each waited for (a graphql-ws subscription to its progress, which ends with it).
 */

const WARMUP = 5;
const RUNS = 40;
const STEP = 'run';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
};

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', env: GIT_ENV }).trim();

interface Timing {
  total: number;
  git: number;
  command: number;
  own: number;
  /** requested → claimed and started. */
  queued: number;
  preflight: number;
  /** Git done → the command's step (the release switch). */
  activate: number;
  /** The last event → completed (recorded as ended). */
  end: number;
}

export async function benchDeploy(workDir: string): Promise<{ rows: Row[]; notes: string[] }> {
  const repo = join(workDir, 'deploy-repo');
  mkdirSync(repo, { recursive: true });
  git(repo, 'init', '--quiet', '--initial-branch=main');
  writeFileSync(join(repo, 'README'), 'a repository to deploy\n');
  git(repo, 'add', 'README');
  git(repo, 'commit', '--quiet', '-m', 'first');
  const database = join(workDir, 'deploy.db');
  writeFileSync(
    join(workDir, 'deploy.yaml'),
    `fraises:\n  noop:\n    type: custom\n    environments:\n      local:\n        branch: main\n        git_repo: ${repo}\n        app_path: ${join(workDir, 'deploy-app')}\n        steps: [{ name: ${STEP}, command: [/bin/true] }]\n`,
  );

  let server: Child | undefined;
  const ids: string[] = [];
  try {
    server = await startFraisier(['--config', join(workDir, 'deploy.yaml'), '--database', `sqlite:${database}`], { cwd: workDir });
    const watcher = await connect(server.url);
    try {
      for (let run = 0; run < WARMUP + RUNS; run++) {
        git(repo, 'commit', '--quiet', '--allow-empty', '-m', `commit ${run}`);
        const commit = git(repo, 'rev-parse', 'HEAD');
        const response = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            query: 'mutation($c: String) { deploy(fraise: "noop", environment: "local", commit: $c) { success message deployment { id } } }',
            variables: { c: commit },
          }),
        });
        const answer = (await response.json()) as { data?: { deploy: { success: boolean; message: string; deployment: { id: string } | null } } };
        const id = answer.data?.deploy.deployment?.id;
        if (!id) throw new Error(`deploy was refused: ${JSON.stringify(answer).slice(0, 300)}`);
        await watcher.untilEnded(id);
        if (run >= WARMUP) ids.push(id);
      }
    } finally {
      watcher.close();
    }
  } finally {
    await server?.stop();
  }

  const store = createStore(`sqlite:${database}`);
  const timings: Timing[] = [];
  const failed: string[] = [];
  try {
    for (const id of ids.map(Number)) {
      const deployment = await store.db
        .selectFrom('tb_deployment')
        .select(['status', 'requested_at', 'started_at', 'completed_at', 'error_message'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      if (deployment.status !== 'success') {
        failed.push(`${id}: ${deployment.status} ${deployment.error_message ?? ''}`);
        continue;
      }
      const events = await store.db
        .selectFrom('tb_deployment_progress')
        .select(['step', 'created_at'])
        .where('fk_deployment', '=', id)
        .orderBy('sequence', 'asc')
        .execute();
      const at = (iso: string | null) => Date.parse(iso!);
      /** From a step's first event to its last (`through: 'last'`) or to the first event of the step after it. */
      const span = (step: string, through: 'last' | 'next') => {
        const first = events.findIndex((e) => e.step === step);
        const end = through === 'last' ? events.findLastIndex((e) => e.step === step) : events.findIndex((e, i) => i > first && e.step !== step);
        if (first < 0 || end <= first) throw new Error(`deployment ${id}: no step ${step} with an end in ${events.map((e) => e.step).join(', ')}`);
        return { from: at(events[first]!.created_at), to: at(events[end]!.created_at) };
      };
      const total = at(deployment.completed_at) - at(deployment.requested_at);
      // The fetch step ends with its "Code updated" event: git's commands lie between the two.
      const fetched = span('fetch', 'last');
      // The command's step ends with the next event (`done`): the host lock's release lies between too.
      const command = span(STEP, 'next');
      const preflight = span('preflight', 'next');
      const last = at(events.at(-1)!.created_at);
      const gitMs = fetched.to - fetched.from;
      const commandMs = command.to - command.from;
      timings.push({
        total,
        git: gitMs,
        command: commandMs,
        own: total - gitMs - commandMs,
        queued: at(deployment.started_at) - at(deployment.requested_at),
        preflight: preflight.to - preflight.from,
        activate: command.from - fetched.to,
        end: at(deployment.completed_at) - last,
      });
    }
  } finally {
    await store.close();
  }
  if (failed.length) throw new Error(`deployments that did not succeed: ${failed.join('; ')}`);

  const p50 = (pick: (t: Timing) => number) => summarize(timings.map(pick)).p50;
  const own = summarize(timings.map((t) => t.own));
  const label = 'own time per deployment (bare metal, /bin/true)';
  return {
    rows: [
      {
        bench: label,
        measure: 'mutation → SUCCESS, minus git and the command, p50 / p99',
        value: `${ms(own.p50)} / ${ms(own.p99)}`,
        reference: `mutation → SUCCESS p50 ${ms(p50((t) => t.total))}; git (fetch step) ${ms(p50((t) => t.git))}, /bin/true (its step) ${ms(p50((t) => t.command))}`,
        ratio: '-',
        bar: 'p50 < 50 ms',
        pass: own.p50 < 50,
      },
      {
        bench: label,
        measure: 'of which: queued → started, pre-flight, release switch, last event → ended (p50)',
        value: `${ms(p50((t) => t.queued))}, ${ms(p50((t) => t.preflight))}, ${ms(p50((t) => t.activate))}, ${ms(p50((t) => t.end))}`,
        reference: '-',
        ratio: '-',
        bar: '-',
        pass: null,
      },
    ],
    notes: [
      `own time: ${RUNS} deployments one after the other (after ${WARMUP} warm-up), each of a new commit of a git repository in a temp directory, to this machine (bare metal, a custom fraise whose one step runs /bin/true); spans from the recorded timestamps (milliseconds): requested → completed, minus the fetch step (git: from its first event to its last) and the command's step (to the next event, \`done\`)`,
    ],
  };
}

/** A graphql-ws connection on which each deployment's progress is followed until it ends. */
async function connect(url: string): Promise<{ untilEnded(id: string): Promise<void>; close(): void }> {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const waiting = new Map<string, { done: () => void; fail: (error: Error) => void }>();
  let acknowledged: () => void = () => {};
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id?: string; type: string };
    if (message.type === 'connection_ack') return acknowledged();
    const subscriber = message.id ? waiting.get(message.id) : undefined;
    if (!subscriber || message.type === 'next') return;
    if (message.type === 'complete') subscriber.done();
    else subscriber.fail(new Error(`unexpected ${String(data).slice(0, 300)}`));
  });
  await new Promise<void>((resolve) => {
    acknowledged = resolve;
    socket.send(JSON.stringify({ type: 'connection_init' }));
  });
  return {
    untilEnded: (id) =>
      new Promise<void>((resolve, reject) => {
        waiting.set(id, {
          done: () => {
            waiting.delete(id);
            resolve();
          },
          fail: reject,
        });
        socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: `subscription { deploymentProgress(deploymentId: "${id}") { sequence } }` } }));
      }),
    close: () => socket.close(),
  };
}
