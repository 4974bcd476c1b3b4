import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type Answer, type Received, startReceiver } from './receiver.js';
import { git } from './service-repo.js';

/*
 * A Coolify instance, faithful to its REST API (v4, /api/v1) for what a deploy tool calls: the
 * application, PATCH git_commit_sha, deploy, a deployment with its log (a JSON string of entries,
 * hidden without read:sensitive), cancel, the list of an application's deployments, logs, start
 * and stop; bearer tokens with abilities, and Coolify's error bodies and statuses. Coolify itself
 * cannot run here. Its builds are of a real git repository: the pinned commit, or the branch tip
 * resolved with `git ls-remote` when pinned to HEAD; a commit holding BUILD_FAILS fails its build.
 * The API and the application are receivers (receiver.ts); the application's /version answers the
 * running commit's VERSION, its /health 503 when that commit holds UNHEALTHY.
 */

export type Ability = 'root' | 'read' | 'read:sensitive' | 'write' | 'deploy';

interface Entry {
  command: string | null;
  output: string;
  type: 'stdout' | 'stderr';
  timestamp: string;
  hidden: boolean;
  batch: number;
  order?: number;
}

export interface FakeDeployment {
  id: number;
  deployment_uuid: string;
  application_id: string;
  application_name: string;
  status: 'queued' | 'in_progress' | 'finished' | 'failed' | 'cancelled-by-user';
  commit: string;
  force_rebuild: boolean;
  is_api: boolean;
  rollback: boolean;
  pull_request_id: number;
  deployment_url: string;
  entries: Entry[];
  created_at: string;
}

export interface FakeApplication {
  uuid: string;
  name: string;
  git_repository: string;
  git_branch: string;
  git_commit_sha: string;
  build_pack: string;
  /** "<state>:<health>" */
  status: string;
  fqdn: string;
  /** The commit whose container runs (null: none). */
  running: string | null;
  /** Images built, by commit. */
  images: Set<string>;
}

export interface FakeCoolify {
  url: string;
  application: FakeApplication;
  deployments: FakeDeployment[];
  /** Every request: method, path (with query), and whether it carried a token. */
  requests: { method: string; path: string; authorization: string | undefined }[];
  /** Builds wait until the returned function is called. */
  hold(): () => void;
  /** The next `times` deploy requests are refused as Coolify refuses them with a full queue (429, Retry-After). */
  queueFull(times: number, retryAfterSeconds: number): void;
  close(): Promise<void>;
}

function cuid(): string {
  return `c${randomBytes(12).toString('hex').slice(0, 23)}`;
}

/** A Coolify with one application building `repository`'s `branch`; `tokens` maps each API token to its abilities. */
export async function startFakeCoolify(options: { repository: string; branch?: string; tokens: Record<string, Ability[]>; uuid?: string }): Promise<FakeCoolify> {
  const deployments: FakeDeployment[] = [];
  let held: Promise<void> | null = null;
  let full = { times: 0, retryAfterSeconds: 60 };
  let nextId = 1;

  // The application's container: answers as the commit that runs.
  const container = await startReceiver((request) => {
    const running = application.running;
    if (!running || !application.status.startsWith('running')) return json(502, { message: 'no container' });
    if (request.url === '/version') return text(200, git(options.repository, 'show', `${running}:VERSION`));
    if (request.url === '/health') return hasFile(running, 'UNHEALTHY') ? text(503, 'unhealthy') : text(200, 'ok');
    return text(404, 'not found');
  });
  const application: FakeApplication = {
    uuid: options.uuid ?? 'hello-app-uuid-0001',
    name: 'hello',
    git_repository: 'acme/hello',
    git_branch: options.branch ?? 'main',
    git_commit_sha: 'HEAD',
    build_pack: 'nixpacks',
    status: 'exited:unhealthy',
    fqdn: container.url,
    running: null,
    images: new Set(),
  };

  const exists = (object: string) => spawnSync('git', ['cat-file', '-e', object], { cwd: options.repository, stdio: 'ignore' }).status === 0;
  const hasFile = (commit: string, name: string) => exists(`${commit}:${name}`);

  const log = (d: FakeDeployment, output: string, type: Entry['type'] = 'stdout', hidden = false, command: string | null = null) => {
    const entry: Entry = { command, output, type, timestamp: new Date().toISOString(), hidden, batch: d.entries.length + 1 };
    // As Coolify writes them: the first entry has no order.
    if (d.entries.length > 0) entry.order = d.entries.length + 1;
    d.entries.push(entry);
  };

  /** One deployment, as Coolify's job runs it: resolve the commit, build (or reuse the image), rolling update. */
  const run = async (d: FakeDeployment) => {
    await tick();
    // One deployment of an application at a time: the next waits in the queue.
    while (deployments.some((o) => o !== d && o.application_id === d.application_id && o.status === 'in_progress')) await tick();
    if (d.status !== 'queued') return;
    d.status = 'in_progress';
    log(d, `Starting deployment of ${application.git_repository}:${application.git_branch} to localhost.`);
    if (d.commit === 'HEAD') {
      const listed = git(options.repository, 'ls-remote', options.repository, `refs/heads/${application.git_branch}`);
      log(d, listed, 'stdout', true, `git ls-remote ${application.git_repository} refs/heads/${application.git_branch}`);
      d.commit = listed.split(/\s/)[0]!;
    }
    if (!exists(`${d.commit}^{commit}`)) {
      log(d, `fatal: reference is not a tree: ${d.commit}`, 'stderr');
      d.status = 'failed';
      return;
    }
    if (held) await held;
    if (d.status !== 'in_progress') return;
    const image = `${application.uuid}:${d.commit}`;
    if (application.images.has(d.commit) && !d.force_rebuild) {
      log(d, `Image found (${image}) with the same Git Commit SHA. Build step skipped.`);
    } else {
      log(d, `Building docker image started.`);
      await tick();
      if (d.status !== 'in_progress') return;
      if (hasFile(d.commit, 'BUILD_FAILS')) {
        log(d, 'npm ERR! build script failed with exit code 1', 'stderr');
        log(d, 'Oops something is not okay, are you okay? 😢', 'stderr');
        d.status = 'failed';
        return;
      }
      application.images.add(d.commit);
      log(d, `Building docker image completed.`);
    }
    log(d, 'Rolling update started.');
    application.running = d.commit;
    // Without a health check of its own, Coolify knows the container runs, not whether it is healthy.
    application.status = 'running:unknown';
    log(d, 'Rolling update completed.');
    d.status = 'finished';
  };

  const api = await startReceiver((request) => {
    try {
      return answer(request);
    } catch (error) {
      return json(500, { message: (error as Error).message });
    }
  });

  function answer(request: Received): Answer {
    const url = new URL(request.url, 'http://coolify');
    const token = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
    const abilities = token !== undefined ? options.tokens[token] : undefined;
    if (!abilities) return json(401, { message: 'Unauthenticated.' });
    const can = (ability: Ability) => abilities.includes('root') || abilities.includes(ability);
    const missing = (ability: Ability) => json(403, { message: `Missing required permissions: ${ability}` });
    const path = url.pathname.replace(/^\/api\/v1/, '');
    const method = request.method;
    let match: RegExpExecArray | null;

    if (path === '/deploy' && (method === 'GET' || method === 'POST')) {
      if (!can('deploy')) return missing('deploy');
      const uuid = url.searchParams.get('uuid');
      if (!uuid) return json(400, { message: 'You must provide uuid or tag.' });
      if (uuid !== application.uuid) return json(404, { message: 'No resources found.' });
      if (full.times > 0) {
        full.times--;
        return json(429, { message: 'Deployment queue is full. Please wait for existing deployments to complete.' }, { 'retry-after': String(full.retryAfterSeconds) });
      }
      // PHP reads any value but "", "0" or none as true.
      const force = !['', '0', null].includes(url.searchParams.get('force'));
      return json(200, { deployments: [queue(force)] });
    }
    if ((match = /^\/deployments\/([^/]+)$/.exec(path)) && method === 'GET') {
      if (!can('read')) return missing('read');
      const d = deployments.find((x) => x.deployment_uuid === match![1]);
      if (!d) return json(404, { message: 'Deployment not found.' });
      return json(200, serialize(d, can('read:sensitive')));
    }
    if ((match = /^\/deployments\/([^/]+)\/cancel$/.exec(path)) && method === 'POST') {
      if (!can('deploy')) return missing('deploy');
      const d = deployments.find((x) => x.deployment_uuid === match![1]);
      if (!d) return json(404, { message: 'Deployment not found.' });
      if (d.status !== 'queued' && d.status !== 'in_progress') return json(400, { message: `Deployment cannot be cancelled. Current status: ${d.status}` });
      d.status = 'cancelled-by-user';
      log(d, 'Deployment cancelled by user via API.', 'stderr');
      log(d, 'Deployment container not yet started. Will be cancelled when job checks status.');
      return json(200, { message: 'Deployment cancelled successfully.', deployment_uuid: d.deployment_uuid, status: d.status });
    }
    if ((match = /^\/deployments\/applications\/([^/]+)$/.exec(path)) && method === 'GET') {
      if (!can('read')) return missing('read');
      if (match[1] !== application.uuid) return json(404, { message: 'Application not found' });
      const skip = Number(url.searchParams.get('skip') ?? 0);
      const take = Number(url.searchParams.get('take') ?? 10);
      const newest = [...deployments].reverse();
      // This list always carries the logs.
      return json(200, { count: newest.length, deployments: newest.slice(skip, skip + take).map((d) => serialize(d, true)) });
    }
    if ((match = /^\/applications\/([^/]+)(\/[a-z]+)?$/.exec(path))) {
      if (match[1] !== application.uuid) return json(404, { message: method === 'PATCH' ? 'Application not found' : 'Application not found.' });
      const action = match[2];
      if (!action && method === 'GET') {
        if (!can('read')) return missing('read');
        const { running: _running, images: _images, ...shown } = application;
        return json(200, shown);
      }
      if (!action && method === 'PATCH') {
        if (!can('write')) return missing('write');
        if (!/application\/json/.test(String(request.headers['content-type'] ?? ''))) return json(400, { message: 'Invalid request.', error: 'Content-Type must be application/json.' });
        let fields: Record<string, unknown>;
        try {
          fields = JSON.parse(request.body) as Record<string, unknown>;
        } catch {
          return json(400, { message: 'Invalid request.', error: 'Invalid JSON.' });
        }
        const unknown = Object.keys(fields).filter((k) => !['git_commit_sha', 'git_branch', 'name'].includes(k));
        if (unknown.length) return json(422, { message: 'Validation failed.', errors: Object.fromEntries(unknown.map((k) => [k, ['This field is not allowed.']])) });
        if ('git_commit_sha' in fields) {
          const sha = fields.git_commit_sha;
          if (typeof sha !== 'string' || !/^([a-fA-F0-9]{4,40}|HEAD)$/.test(sha)) {
            return json(422, { message: 'Validation failed.', errors: { git_commit_sha: ['The git commit sha field format is invalid.'] } });
          }
          application.git_commit_sha = sha;
        }
        if (typeof fields.git_branch === 'string') application.git_branch = fields.git_branch;
        return json(200, { uuid: application.uuid });
      }
      if (action === '/logs' && method === 'GET') {
        if (!can('read')) return missing('read');
        if (!application.running || !application.status.startsWith('running')) return json(400, { message: 'Application is not running.' });
        const lines = Number(url.searchParams.get('lines')) || 100;
        const all = [`listening on ${application.fqdn}`, `serving ${git(options.repository, 'show', `${application.running}:VERSION`)}`];
        return json(200, { logs: all.slice(-lines).join('\n') });
      }
      if ((action === '/start' || action === '/stop') && (method === 'GET' || method === 'POST')) {
        if (!can('deploy')) return missing('deploy');
        if (action === '/stop') {
          application.status = 'exited:unhealthy';
          return json(200, { message: 'Application stopping request queued.' });
        }
        const queued = queue(url.searchParams.get('force') === 'true');
        return json(200, { message: 'Deployment request queued.', deployment_uuid: queued.deployment_uuid });
      }
    }
    return json(404, { message: 'Not found.' });
  }

  function queue(force: boolean): { message: string; resource_uuid: string; deployment_uuid: string } {
    const commit = application.git_commit_sha || 'HEAD';
    const duplicate = deployments.find((d) => (d.status === 'queued' || d.status === 'in_progress') && d.commit === commit);
    // As Coolify answers a duplicate: a fresh uuid that names no deployment.
    if (duplicate && !force) return { message: 'Deployment already queued for this commit.', resource_uuid: application.uuid, deployment_uuid: cuid() };
    const d: FakeDeployment = {
      id: nextId++,
      deployment_uuid: cuid(),
      application_id: String(1),
      application_name: application.name,
      status: 'queued',
      commit,
      force_rebuild: force,
      is_api: true,
      rollback: false,
      pull_request_id: 0,
      deployment_url: '',
      entries: [],
      created_at: new Date().toISOString(),
    };
    d.deployment_url = `/project/p1/environment/e1/application/${application.uuid}/deployment/${d.deployment_uuid}`;
    deployments.push(d);
    void run(d);
    return { message: `Application ${application.name} deployment queued.`, resource_uuid: application.uuid, deployment_uuid: d.deployment_uuid };
  }

  return {
    url: api.url,
    application,
    deployments,
    get requests() {
      return api.received.map((r) => ({ method: r.method, path: r.url, authorization: r.headers.authorization as string | undefined }));
    },
    hold() {
      let release!: () => void;
      held = new Promise<void>((resolve) => {
        release = () => {
          held = null;
          resolve();
        };
      });
      return release;
    },
    queueFull(times, retryAfterSeconds) {
      full = { times, retryAfterSeconds };
    },
    async close() {
      await Promise.all([api.close(), container.close()]);
    },
  };
}

function serialize(d: FakeDeployment, sensitive: boolean): Record<string, unknown> {
  const { entries, ...rest } = d;
  return { ...rest, ...(sensitive ? { logs: JSON.stringify(entries) } : {}), updated_at: new Date().toISOString() };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Answer {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

function text(status: number, body: string): Answer {
  return { status, headers: { 'content-type': 'text/plain' }, body: `${body}\n` };
}

/** A step of Coolify's job: other requests get answered meanwhile. */
function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20));
}
