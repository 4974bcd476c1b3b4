import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, openOutboxRig, type OutboxRig } from '../setup/notifications.js';
import { type Answer, type Received, type Receiver, startReceiver } from '../setup/receiver.js';

/*
 * Git issues against stand-ins of GitHub's, GitLab's and Gitea's REST APIs (their paths, methods,
 * bodies, status codes and auth headers as published): a failure opens one issue for the fraise
 * and environment (marker in the body, the fixed label), the next failure comments on it instead
 * of opening another, the next success comments and closes it; the monitor finding the service
 * down or healthy again does the same. Issues without the marker, and GitHub pull requests, are
 * left alone.
 */

interface Issue {
  number: number;
  title: string;
  body: string;
  labels: string[];
  state: 'open' | 'closed';
  stateReason?: string;
  comments: string[];
  pull?: boolean;
}

type Host = 'github' | 'gitlab' | 'gitea';

/** One Git host's issues, and the answers its API gives. */
class FakeHost {
  readonly issues: Issue[] = [];
  readonly labels: { id: number; name: string }[] = [{ id: 7, name: 'bug' }];

  constructor(readonly kind: Host) {}

  handle(request: Received): Answer {
    const path = request.url.split('?')[0]!;
    const query = new URL(request.url, 'http://x').searchParams;
    const ok = (status: number, body: unknown): Answer => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const base = { github: '/github/repos/acme/api', gitlab: '/gitlab/api/v4/projects/acme%2Fplatform%2Fapi', gitea: '/gitea/api/v1/repos/acme/api' }[this.kind];
    if (!this.authorized(request)) return ok(401, { message: 'Bad credentials' });
    const number = Number(/\/issues\/(\d+)/.exec(path)?.[1]);
    const issue = this.issues.find((i) => i.number === number);
    if (request.method === 'GET' && path === `${base}/issues`) {
      const state = this.kind === 'gitlab' ? (query.get('state') === 'opened' ? 'open' : 'closed') : query.get('state');
      const label = query.get('labels');
      const found = this.issues.filter((i) => i.state === state && (!label || i.labels.includes(label)) && !(this.kind === 'gitea' && query.get('type') === 'issues' && i.pull));
      return ok(200, found.map((i) => (this.kind === 'gitlab' ? { iid: i.number, description: i.body } : { number: i.number, body: i.body, ...(i.pull ? { pull_request: {} } : {}) })));
    }
    if (request.method === 'POST' && path === `${base}/issues`) {
      const body = json(request.body);
      const labels = this.kind === 'gitlab' ? String(body.labels).split(',') : this.kind === 'gitea' ? (body.labels as number[]).map((id) => this.labels.find((l) => l.id === id)!.name) : body.labels;
      const created: Issue = { number: this.issues.length + 1, title: body.title, body: this.kind === 'gitlab' ? body.description : body.body, labels, state: 'open', comments: [] };
      this.issues.push(created);
      return ok(201, this.kind === 'gitlab' ? { iid: created.number } : { number: created.number });
    }
    if (request.method === 'GET' && this.kind === 'gitea' && path === `${base}/labels`) return ok(200, this.labels);
    if (request.method === 'POST' && this.kind === 'gitea' && path === `${base}/labels`) {
      const label = { id: 100 + this.labels.length, name: json(request.body).name as string };
      this.labels.push(label);
      return ok(201, label);
    }
    if (!issue) return ok(404, { message: 'Not Found' });
    const commentPath = this.kind === 'gitlab' ? `${base}/issues/${number}/notes` : `${base}/issues/${number}/comments`;
    if (request.method === 'POST' && path === commentPath) {
      issue.comments.push(json(request.body).body);
      return ok(201, { id: issue.comments.length });
    }
    const closeMethod = { github: 'PATCH', gitlab: 'PUT', gitea: 'PATCH' }[this.kind];
    if (request.method === closeMethod && path === `${base}/issues/${number}`) {
      const body = json(request.body);
      const closing = this.kind === 'gitlab' ? body.state_event === 'close' : body.state === 'closed';
      if (!closing) return ok(422, { message: 'Validation Failed' });
      issue.state = 'closed';
      if (body.state_reason) issue.stateReason = body.state_reason;
      // Gitea answers an edit with 201.
      return ok(this.kind === 'gitea' ? 201 : 200, { number });
    }
    return ok(405, { message: `unexpected ${request.method} ${path}` });
  }

  authorized(request: Received): boolean {
    if (this.kind === 'github') return request.headers.authorization === 'Bearer gh-token-123456' && request.headers['x-github-api-version'] === '2022-11-28' && !!request.headers['user-agent'];
    if (this.kind === 'gitlab') return request.headers['private-token'] === 'gl-token-123456';
    return request.headers.authorization === 'token gt-token-123456';
  }
}

describe('Git issue notifications', () => {
  let receiver: Receiver;
  let rig: OutboxRig;
  const hosts = { github: new FakeHost('github'), gitlab: new FakeHost('gitlab'), gitea: new FakeHost('gitea') };

  beforeAll(async () => {
    receiver = await startReceiver((request) => hosts[request.url.split('/')[1] as Host]?.handle(request) ?? { status: 404 });
    rig = await openOutboxRig(`
fraises:
  api:
    type: api
    environments:
      github:
        target: { provider: bare-metal, app_path: /srv/a }
        notifications:
          on_failure: [{ type: github_issue, token: gh-token-123456, repo: acme/api, api_base: "${receiver.url}/github", labels: [deploy-failure], assignees: [oncall] }]
      gitlab:
        target: { provider: bare-metal, app_path: /srv/b }
        notifications:
          on_rollback: [{ type: gitlab_issue, token: gl-token-123456, repo: acme/platform/api, api_base: "${receiver.url}/gitlab" }]
          on_failure: [{ type: gitlab_issue, token: gl-token-123456, repo: acme/platform/api, api_base: "${receiver.url}/gitlab" }]
      gitea:
        target: { provider: bare-metal, app_path: /srv/c }
        notifications:
          on_failure: [{ type: gitea_issue, token: gt-token-123456, repo: acme/api, api_base: "${receiver.url}/gitea", labels: [bug] }]
`);
    // Already there: a person's issue with the label but no marker, and (GitHub) a pull request with both.
    for (const host of Object.values(hosts)) host.issues.push({ number: 1, title: 'Flaky deploys?', body: 'I think deploys fail sometimes', labels: ['fraisier'], state: 'open', comments: [] });
    hosts.github.issues.push({ number: 2, title: 'Fix deploy', body: 'fixes <!-- fraisier:api/github -->', labels: ['fraisier'], state: 'open', comments: [], pull: true });
  });
  afterAll(async () => {
    await rig?.dispose();
    await receiver?.close();
  });

  for (const kind of ['github', 'gitlab', 'gitea'] as const) {
    it(`${kind}: opens one issue, comments on the next failure, closes it on the next success`, async () => {
      const host = hosts[kind];
      const before = host.issues.length;
      const first = await rig.deployment({ environment: kind, status: kind === 'gitlab' ? 'rolled_back' : 'failed', errorMessage: 'health check failed:\n```\n503\n```' });
      await rig.runDue();
      expect(host.issues).toHaveLength(before + 1);
      const issue = host.issues.at(-1)!;
      expect(issue.title).toBe(`[fraisier] api/${kind}: deployments failing`);
      expect(issue.body).toContain(`<!-- fraisier:api/${kind} -->`);
      // The error's own fence cannot close the block it is quoted in.
      expect(issue.body).toContain('````\nhealth check failed:\n```\n503\n```\n````');
      expect(issue.labels).toEqual(kind === 'github' ? ['fraisier', 'deploy-failure'] : kind === 'gitea' ? ['fraisier', 'bug'] : ['fraisier']);
      if (kind === 'gitea') expect(host.labels.map((l) => l.name)).toEqual(['bug', 'fraisier']);

      await rig.deployment({ environment: kind, status: 'failed', errorMessage: 'migrate failed' });
      await rig.runDue();
      expect(host.issues).toHaveLength(before + 1);
      expect(issue.comments).toHaveLength(1);
      expect(issue.comments[0]).toContain('migrate failed');

      const success = await rig.deployment({ environment: kind, status: 'success' });
      await rig.runDue();
      expect(issue.state).toBe('closed');
      if (kind === 'github') expect(issue.stateReason).toBe('completed');
      expect(issue.comments.at(-1)).toMatch(new RegExp(`^✅ Resolved: deployment #${success} of api/${kind} succeeded`));
      // Nothing else was touched.
      expect(host.issues[0]).toMatchObject({ state: 'open', comments: [] });
      if (kind === 'github') expect(host.issues[1]).toMatchObject({ state: 'open', comments: [] });

      // Another success finds nothing open: nothing to do, and that is delivered too.
      const again = await rig.deployment({ environment: kind, status: 'success' });
      const requestsBefore = receiver.received.length;
      await rig.runDue();
      expect(receiver.received.slice(requestsBefore).map((r) => r.method)).toEqual(['GET']);
      for (const n of [...(await rig.notifications(first)), ...(await rig.notifications(again))]) expect(n.status).toBe('delivered');
    });
  }

  it('the monitor finding the service down opens the issue a failed deployment then comments on; healthy again closes it', async () => {
    const host = hosts.gitlab;
    const before = host.issues.length;
    await rig.health({ environment: 'gitlab', status: 'down', previous: 'healthy', message: 'http://10.0.0.5/health: ECONNREFUSED' });
    await rig.runDue();
    expect(host.issues).toHaveLength(before + 1);
    const issue = host.issues.at(-1)!;
    expect(issue).toMatchObject({ title: '[fraisier] api/gitlab is down', state: 'open', labels: ['fraisier'] });
    expect(issue.body).toContain('**api/gitlab is down**');
    expect(issue.body).toContain('| Previously | healthy |');
    expect(issue.body).toContain('http://10.0.0.5/health: ECONNREFUSED');
    expect(issue.body).toContain('<!-- fraisier:api/gitlab -->');

    // The same issue, whatever told of the trouble first.
    await rig.deployment({ environment: 'gitlab', status: 'failed', errorMessage: 'restart failed' });
    await rig.runDue();
    expect(host.issues).toHaveLength(before + 1);
    expect(issue.comments).toHaveLength(1);
    expect(issue.comments[0]).toContain('restart failed');

    await rig.health({ environment: 'gitlab', status: 'healthy', previous: 'down', message: 'HTTP 200' });
    await rig.runDue();
    expect(issue.state).toBe('closed');
    expect(issue.comments.at(-1)).toBe('✅ Resolved: api/gitlab is healthy again (HTTP 200; it was down).');
    for (const n of await rig.notifications()) if (n.event === 'health') expect(n).toMatchObject({ status: 'delivered', deploymentId: null });
  });

  it('retries the whole conversation when a step fails, without opening a second issue', async () => {
    const host = hosts.github;
    const before = host.issues.length;
    receiver.script('/github/repos/acme/api/issues', [{ status: 502, body: 'Bad gateway' }]);
    const id = await rig.deployment({ environment: 'github', status: 'failed', errorMessage: 'boom' });
    await rig.runDue();
    rig.advance(2_500);
    await rig.runDue();
    const [notification] = await rig.notifications(id);
    expect(notification!.attempts.map((a) => [a.outcome, a.statusCode, a.error])).toEqual([
      ['retry', 502, 'GitHub (list issues) answered 502: Bad gateway'],
      ['delivered', 201, null],
    ]);
    expect(host.issues).toHaveLength(before + 1);
  });
});
