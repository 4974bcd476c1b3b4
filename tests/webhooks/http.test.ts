import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { gql } from '../setup/app.js';
import { DIALECTS } from '../setup/dialects.js';
import {
  bitbucketHeaders,
  countRows,
  deliver,
  deploymentsOf,
  eventRows,
  fixture,
  GITHUB_MASTER_SHA,
  GITLAB_PUSH_SHA,
  giteaHeaders,
  githubExample,
  githubHeaders,
  githubMasterPush,
  gitlabHeaders,
  gitlabSignedHeaders,
  NOW,
  SECRETS,
  startWebhookApp,
  TOKENS,
  type Answer,
  type WebhookTestApp,
  WEBHOOK_CONFIG,
  withCommit,
} from './support.js';

/*
 * POST /webhook against a real server on every dialect: each provider's own payload, signed
 * as the provider signs it, becomes exactly the deployments it maps to; anything unsigned or
 * badly signed writes nothing; what is signed but deploys nothing is recorded with its reason.
 */

/** Rows written while `run` runs: a refused delivery must write none. */
async function written(app: App, run: () => Promise<Answer>): Promise<{ answer: Answer; events: number; deployments: number }> {
  const before = [await countRows(app, 'tb_webhook_event'), await countRows(app, 'tb_deployment')];
  const answer = await run();
  return {
    answer,
    events: (await countRows(app, 'tb_webhook_event')) - before[0]!,
    deployments: (await countRows(app, 'tb_deployment')) - before[1]!,
  };
}

function expectNoSecretIn(text: string): void {
  for (const secret of [...SECRETS.github, SECRETS.gitlabToken, SECRETS.gitlabSigning, SECRETS.gitea, SECRETS.bitbucket]) expect(text).not.toContain(secret);
}

/** A GitHub push example with another ref (the payload GitHub sends, with a hostile branch name). */
function pushTo(ref: string): string {
  return JSON.stringify({ ...JSON.parse(githubMasterPush()), ref });
}

for (const dialect of DIALECTS) {
  describe(`webhooks over HTTP on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: WebhookTestApp;

    beforeAll(async () => {
      if (skip) return;
      t = await startWebhookApp(dialect);
    });
    afterAll(async () => {
      if (!skip) await t.dispose();
    });

    it.skipIf(skip)('GitHub: a signed push to a mapped branch queues one PENDING deployment per mapped pair (202)', async () => {
      const body = githubMasterPush();
      const headers = await githubHeaders(body, { delivery: 'gh-push-1' });
      const { answer, events, deployments } = await written(t.app, () => deliver(t.url, '/webhook', body, headers));
      expect(answer.status).toBe(202);
      expect(answer.json).toEqual({
        accepted: true,
        duplicate: false,
        message: expect.stringMatching(/^1 deployment queued: branch "master" at 6113728f27ae → hello\/production/),
        event: { id: expect.any(String), outcome: 'accepted', reason: expect.any(String), deliveryId: 'gh-push-1' },
        deployments: [
          { id: expect.any(String), fraise: 'hello', environment: 'production', status: 'PENDING', gitCommit: GITHUB_MASTER_SHA, gitBranch: 'master' },
        ],
      });
      expect([events, deployments]).toEqual([1, 1]);

      const row = (await eventRows(t.app)).find((r) => String(r.id) === answer.json.event.id)!;
      expect(row).toMatchObject({
        provider: 'github',
        event_type: 'push',
        delivery_id: 'gh-push-1',
        repository: 'Codertocat/Hello-World',
        ref: 'refs/heads/master',
        branch: 'master',
        tag: null,
        commit_sha: GITHUB_MASTER_SHA,
        before_sha: '0000000000000000000000000000000000000000',
        sender: 'Codertocat',
        commit_message: 'Initial commit',
        commit_author: 'Codertocat',
        outcome: 'accepted',
        source_ip: '127.0.0.1',
        payload: body,
      });
      expect(Number(row.processed)).toBe(1);
      expect(String(row.fk_deployment)).toBe(answer.json.deployments[0].id);
      const [queued] = await deploymentsOf(t.app, row.id);
      expect(queued).toMatchObject({ fraise: 'hello', environment: 'production', git_commit: GITHUB_MASTER_SHA, git_branch: 'master', trigger_type: 'webhook' });
      expect(queued!.requested_by).toBe('webhook:github:Codertocat');
      // Values from the payload travel as data, for commands' environment, never as arguments.
      expect(JSON.parse(queued!.context!)).toMatchObject({ author: 'Codertocat', message: 'Initial commit', sender: 'Codertocat', commit: GITHUB_MASTER_SHA });
    });

    it.skipIf(skip)('GitHub: the signature is checked over the bytes as sent, even when they are not valid UTF-8', async () => {
      // A commit message in Latin-1 (0xE9 alone is no UTF-8): signed as GitHub signs, over the bytes.
      const text = withCommit(githubMasterPush(), GITHUB_MASTER_SHA).replaceAll(/"message":\s*"Initial commit"/g, '"message":"Caf\u00e9"');
      expect(text).toContain('Café');
      const body = Buffer.from(text, 'latin1');
      const headers = {
        ...(await githubHeaders('-', { delivery: 'gh-latin1' })),
        'x-hub-signature-256': `sha256=${createHmac('sha256', SECRETS.github[1]).update(body).digest('hex')}`,
      };
      const answer = await deliver(t.url, '/webhook/github', body, headers);
      expect(answer.status, answer.text).toBe(202);
      expect(answer.json.event.deliveryId).toBe('gh-latin1');
    });

    it.skipIf(skip)('a redelivery (same X-GitHub-Delivery) answers duplicate with the first answer and queues nothing', async () => {
      const body = withCommit(githubMasterPush(), GITHUB_MASTER_SHA);
      const headers = await githubHeaders(body, { delivery: 'gh-redelivered' });
      const first = await deliver(t.url, '/webhook/github', body, headers);
      expect(first.status).toBe(202);
      const again = await written(t.app, () => deliver(t.url, '/webhook/github', body, headers));
      expect(again.answer.status).toBe(200);
      expect(again.answer.json).toMatchObject({ accepted: true, duplicate: true, event: { id: first.json.event.id, outcome: 'accepted' } });
      expect(again.answer.json.deployments.map((d: { id: string }) => d.id)).toEqual(first.json.deployments.map((d: { id: string }) => d.id));
      expect([again.events, again.deployments]).toEqual([0, 0]);
    });

    it.skipIf(skip)('GitLab: the documented push, with X-Gitlab-Token, deploys branch and branch_mapping pairs', async () => {
      const body = fixture('gitlab/push.json');
      const { answer, events, deployments } = await written(t.app, () => deliver(t.url, '/webhook', body, gitlabHeaders({ key: 'gl-key-1' })));
      expect(answer.status).toBe(202);
      expect(answer.json.deployments.map((d: { fraise: string; environment: string; status: string }) => `${d.fraise}/${d.environment} ${d.status}`)).toEqual([
        'diaspora/qa PENDING',
        'diaspora/production PENDING',
      ]);
      expect([events, deployments]).toEqual([1, 2]);
      const row = (await eventRows(t.app)).find((r) => String(r.id) === answer.json.event.id)!;
      expect(row).toMatchObject({ provider: 'gitlab', event_type: 'Push Hook', delivery_id: 'gl-key-1', repository: 'mike/diaspora', sender: 'jsmith' });
      // GitLab retries with the same Idempotency-Key: one delivery, however many attempts.
      const retry = await written(t.app, () => deliver(t.url, '/webhook/gitlab', body, gitlabHeaders({ key: 'gl-key-1' })));
      expect(retry.answer.json.duplicate).toBe(true);
      expect([retry.events, retry.deployments]).toEqual([0, 0]);
    });

    it.skipIf(skip)('GitLab: a signing-token signature is accepted within ±5 minutes, refused beyond (nothing written)', async () => {
      const body = withCommit(fixture('gitlab/push.json'), GITLAB_PUSH_SHA);
      const seconds = NOW.getTime() / 1000;
      const inside = await deliver(t.url, '/webhook', body, gitlabSignedHeaders(body, { timestamp: seconds - 240 }));
      expect(inside.status).toBe(202);
      const outside = await written(t.app, () => deliver(t.url, '/webhook', body, gitlabSignedHeaders(body, { timestamp: seconds - 360 })));
      expect(outside.answer.status).toBe(401);
      expect(outside.answer.json).toEqual({ accepted: false, message: 'webhook-timestamp is 360 s away from this server\'s clock (at most 300 s)', code: 'INVALID_SIGNATURE' });
      expect([outside.events, outside.deployments]).toEqual([0, 0]);
    });

    it.skipIf(skip)('Gitea: a delivery that also carries X-GitHub-Event is Gitea\'s; sent to /webhook/github it is refused', async () => {
      const body = fixture('gitea/push.json');
      const headers = await giteaHeaders(body, { delivery: 'gitea-1' });
      const answer = await deliver(t.url, '/webhook', body, headers);
      expect(answer.status).toBe(202);
      expect(answer.json.deployments).toMatchObject([{ fraise: 'webhooks_site', environment: 'develop', status: 'PENDING', gitCommit: 'bffeb74224043ba2feb48d137756c8a9331c449a' }]);
      const row = (await eventRows(t.app)).find((r) => String(r.id) === answer.json.event.id)!;
      expect(row).toMatchObject({ provider: 'gitea', event_type: 'push', delivery_id: 'gitea-1', repository: 'gitea/webhooks' });

      const misrouted = await written(t.app, async () => deliver(t.url, '/webhook/github', body, await giteaHeaders(body, { delivery: 'gitea-2' })));
      expect(misrouted.answer.status).toBe(401);
      expect(misrouted.answer.json.code).toBe('INVALID_SIGNATURE');
      expect([misrouted.events, misrouted.deployments]).toEqual([0, 0]);
    });

    it.skipIf(skip)('Bitbucket Cloud repo:push and Server repo:refs_changed each deploy their fraise', async () => {
      const cloud = fixture('bitbucket/cloud-repo-push.json');
      const a = await deliver(t.url, '/webhook', cloud, await bitbucketHeaders(cloud));
      expect(a.status).toBe(202);
      expect(a.json.deployments).toMatchObject([{ fraise: 'bb_cloud', environment: 'preview', gitCommit: '709d658dc5b6d6afcd46049c2f332ee3f515a67d' }]);
      const server = fixture('bitbucket/server-refs-changed.json');
      const b = await deliver(t.url, '/webhook?provider=bitbucket', server, await bitbucketHeaders(server, { event: 'repo:refs_changed', server: true, delivery: 'bbs-1' }));
      expect(b.status).toBe(202);
      expect(b.json.deployments).toMatchObject([{ fraise: 'bb_server', environment: 'production', gitCommit: '22671f0349857934857983457983475ec39f196b' }]);
      expect(b.json.event.deliveryId).toBe('bbs-1');
    });

    it.skipIf(skip)('bad, missing and malformed signatures and altered bodies: 401, nothing written, nothing echoed', async () => {
      const github = githubMasterPush();
      const gitlab = fixture('gitlab/push.json');
      const gitea = fixture('gitea/push.json');
      const bitbucket = fixture('bitbucket/cloud-repo-push.json');
      const goodGithub = await githubHeaders(github);
      const goodGitea = await giteaHeaders(gitea);
      const goodBitbucket = await bitbucketHeaders(bitbucket);
      const digest = goodGithub['x-hub-signature-256']!.slice(7);
      const cases: [string, string, string, Record<string, string>][] = [
        ['github wrong secret', '/webhook', github, await githubHeaders(github, { secret: 'wrong' })],
        ['github no signature', '/webhook', github, { ...goodGithub, 'x-hub-signature-256': '' }],
        ['github sha1= only', '/webhook', github, { ...goodGithub, 'x-hub-signature-256': `sha1=${digest.slice(0, 40)}` }],
        ['github upper-case hex', '/webhook', github, { ...goodGithub, 'x-hub-signature-256': `sha256=${digest.toUpperCase()}` }],
        ['github truncated', '/webhook', github, { ...goodGithub, 'x-hub-signature-256': `sha256=${digest.slice(0, 60)}` }],
        ['github wrong prefix', '/webhook', github, { ...goodGithub, 'x-hub-signature-256': `sha512=${digest}` }],
        ['github non-hex', '/webhook', github, { ...goodGithub, 'x-hub-signature-256': `sha256=${'x'.repeat(64)}` }],
        ['github extra spaces', '/webhook', github, { ...goodGithub, 'x-hub-signature-256': `sha256= ${digest}` }],
        ['github body altered', '/webhook', github.replace('Initial commit', 'Initial commit '), goodGithub],
        ['gitlab wrong token', '/webhook', gitlab, gitlabHeaders({ token: 'wrong' })],
        ['gitlab empty token', '/webhook', gitlab, gitlabHeaders({ token: '' })],
        ['gitlab no token', '/webhook', gitlab, gitlabHeaders({ token: null })],
        ['gitea wrong secret', '/webhook', gitea, await giteaHeaders(gitea, { secret: 'wrong' })],
        ['gitea no signature', '/webhook', gitea, { ...goodGitea, 'x-gitea-signature': '', 'x-gogs-signature': '' }],
        ['gitea prefixed', '/webhook', gitea, { ...goodGitea, 'x-gitea-signature': `sha256=${goodGitea['x-gitea-signature']}` }],
        ['gitea body altered', '/webhook', `${gitea} `, goodGitea],
        ['bitbucket wrong secret', '/webhook', bitbucket, await bitbucketHeaders(bitbucket, { secret: 'wrong' })],
        ['bitbucket no signature', '/webhook', bitbucket, { ...goodBitbucket, 'x-hub-signature': '' }],
        ['bitbucket sha1=', '/webhook', bitbucket, { ...goodBitbucket, 'x-hub-signature': goodBitbucket['x-hub-signature']!.replace('sha256=', 'sha1=') }],
        ['bitbucket body altered', '/webhook', bitbucket.replace('emmap1', 'emmap2'), goodBitbucket],
      ];
      for (const [name, path, body, headers] of cases) {
        const { answer, events, deployments } = await written(t.app, () => deliver(t.url, path, body, headers));
        expect({ name, status: answer.status, code: answer.json?.code, accepted: answer.json?.accepted }).toEqual({ name, status: 401, code: 'INVALID_SIGNATURE', accepted: false });
        expect(answer.json.message).toEqual(expect.any(String));
        expect({ name, events, deployments }).toEqual({ name, events: 0, deployments: 0 });
        expectNoSecretIn(answer.text);
        expect(answer.text).not.toContain(digest);
      }
    });

    it.skipIf(skip)('a validly signed body that is not JSON: 400, recorded as refused', async () => {
      const body = 'this is not JSON {';
      const { answer, events, deployments } = await written(t.app, async () => deliver(t.url, '/webhook', body, await githubHeaders(body, { delivery: 'not-json' })));
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual({ accepted: false, code: 'BAD_USER_INPUT', message: expect.stringMatching(/^the body is not JSON/) });
      expect([events, deployments]).toEqual([1, 0]);
      expect((await eventRows(t.app)).at(-1)).toMatchObject({ delivery_id: 'not-json', outcome: 'refused', reason: expect.stringMatching(/^the body is not JSON/) });
    });

    it.skipIf(skip)('pings and test hooks: 200, recorded as ignored, nothing deployed', async () => {
      const ping = githubExample('ping');
      const sample = fixture('gitlab/test-hook-sample.json');
      const diagnostics = fixture('bitbucket/server-diagnostics-ping.json');
      const deliveries: [string, string, Record<string, string>, RegExp][] = [
        ['GitHub ping', ping, await githubHeaders(ping, { event: 'ping' }), /^ping: the webhook reaches Fraisier$/],
        ['GitLab test hook', sample, gitlabHeaders(), /^GitLab test hook/],
        ['Bitbucket diagnostics:ping', diagnostics, await bitbucketHeaders(diagnostics, { event: 'diagnostics:ping', server: true }), /^Bitbucket test connection/],
      ];
      for (const [name, body, headers, reason] of deliveries) {
        const { answer, events, deployments } = await written(t.app, () => deliver(t.url, '/webhook', body, headers));
        expect({ name, status: answer.status }).toEqual({ name, status: 200 });
        expect(answer.json).toMatchObject({ accepted: true, duplicate: false, deployments: [], event: { outcome: 'ignored', reason: expect.stringMatching(reason) } });
        expect({ name, events, deployments }).toEqual({ name, events: 1, deployments: 0 });
      }
    });

    it.skipIf(skip)('a tag push deploys only the environment whose tags match; a branch delete deploys nothing', async () => {
      const tag = githubExample('push', (e) => e.ref === 'refs/tags/simple-tag' && e.deleted === false);
      const pushed = await deliver(t.url, '/webhook', tag, await githubHeaders(tag));
      expect(pushed.status).toBe(202);
      expect(pushed.json.deployments).toMatchObject([{ fraise: 'hello', environment: 'release', gitBranch: null }]);

      const deleted = fixture('bitbucket/server-branch-deleted.json');
      const { answer, deployments } = await written(t.app, async () =>
        deliver(t.url, '/webhook', deleted, await bitbucketHeaders(deleted, { event: 'repo:refs_changed', server: true })),
      );
      expect(answer.status).toBe(200);
      expect(answer.json.event).toMatchObject({ outcome: 'ignored', reason: 'branch "feature/wip" deleted: nothing to deploy' });
      expect(deployments).toBe(0);
    });

    it.skipIf(skip)('hostile branch names are refused and recorded; nothing is created on disk, nothing deployed', async () => {
      const marker = join(tmpdir(), `fraisier-marker-${process.pid}-${dialect.name}`);
      const names = ['a;touch x', `a;touch ${marker}`, '$(id)', `$(touch ${marker})`, '--upload-pack=touch x', '-x', '..', 'b'.repeat(300), '\u001b[31mred\u001b[0m'];
      for (const name of names) {
        const body = pushTo(`refs/heads/${name}`);
        const { answer, events, deployments } = await written(t.app, async () => deliver(t.url, '/webhook', body, await githubHeaders(body)));
        expect({ name, status: answer.status, accepted: answer.json.accepted, outcome: answer.json.event.outcome }).toEqual({
          name,
          status: 200,
          accepted: false,
          outcome: 'refused',
        });
        expect(answer.json.event.reason).toMatch(/^branch name refused: it /);
        expect({ name, events, deployments }).toEqual({ name, events: 1, deployments: 0 });
      }
      expect(existsSync('x')).toBe(false);
      expect(existsSync(marker)).toBe(false);
    });

    it.skipIf(skip)('master is configured; a push to changeset-release/master deploys nothing', async () => {
      const body = pushTo('refs/heads/changeset-release/master');
      const { answer, deployments } = await written(t.app, async () => deliver(t.url, '/webhook', body, await githubHeaders(body)));
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ accepted: true, deployments: [], event: { outcome: 'ignored', reason: 'no fraise maps branch "changeset-release/master"' } });
      expect(deployments).toBe(0);
    });

    it.skipIf(skip)('webhookEvents tells what became of every recorded delivery, with its deployment', async () => {
      const auth = { authorization: `Bearer ${TOKENS.read}` };
      const { data, errors } = await gql(
        t.app,
        '{ webhookEvents(limit: 100) { id provider providerName eventType deliveryId branch outcome reason processed deployment { id fraise environment } } }',
        {},
        auth,
      );
      expect(errors).toBeUndefined();
      const events = data.webhookEvents as { provider: string; outcome: string; reason: string | null; deliveryId: string | null; deployment: unknown; processed: boolean }[];
      expect(new Set(events.map((e) => e.outcome))).toEqual(new Set(['accepted', 'ignored', 'refused']));
      expect(events.find((e) => e.deliveryId === 'gh-push-1')).toMatchObject({
        provider: 'GITHUB',
        processed: true,
        deployment: { fraise: 'hello', environment: 'production' },
      });
      for (const event of events.filter((e) => e.outcome !== 'accepted')) {
        expect(event.reason).toEqual(expect.any(String));
        expect(event.deployment).toBeNull();
        expect(event.processed).toBe(false);
      }
      expect(events.map((e) => e.provider)).toEqual(expect.arrayContaining(['GITHUB', 'GITLAB', 'GITEA', 'BITBUCKET']));
    });

    it.skipIf(skip)('processWebhook over GraphQL: a deploy token with a valid signature works, without one it is INVALID_SIGNATURE', async () => {
      const body = withCommit(githubMasterPush(), GITHUB_MASTER_SHA);
      const mutation = `mutation ($payload: String!, $signature: String, $deliveryId: String) {
        processWebhook(provider: GITHUB, payload: $payload, signature: $signature, event: "push", deliveryId: $deliveryId) {
          accepted duplicate deployments { fraise environment status }
        }
      }`;
      const signature = (await githubHeaders(body))['x-hub-signature-256'];
      const deploy = { authorization: `Bearer ${TOKENS.deploy}` };
      const ok = await gql(t.app, mutation, { payload: body, signature, deliveryId: 'via-graphql' }, deploy);
      expect(ok.errors).toBeUndefined();
      expect(ok.data.processWebhook).toEqual({ accepted: true, duplicate: false, deployments: [{ fraise: 'hello', environment: 'production', status: 'PENDING' }] });

      const { answer } = { answer: await gql(t.app, mutation, { payload: body, signature: null, deliveryId: 'unsigned' }, deploy) };
      expect(answer.errors?.[0]?.extensions?.code).toBe('INVALID_SIGNATURE');
      expect(answer.errors?.[0]?.message).toMatch(/^missing X-Hub-Signature-256/);
      const reader = await gql(t.app, mutation, { payload: body, signature, deliveryId: 'by-reader' }, { authorization: `Bearer ${TOKENS.read}` });
      expect(reader.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const rows = await eventRows(t.app);
      expect(rows.filter((r) => r.delivery_id === 'unsigned' || r.delivery_id === 'by-reader')).toEqual([]);
    });

    it.skipIf(skip)('counts deliveries by provider and outcome in /metrics', async () => {
      const metrics = await (await fetch(`${t.url}/metrics`)).text();
      expect(metrics).toMatch(/fraisier_webhook_deliveries_total\{provider="github",outcome="accepted"\} \d+/);
      expect(metrics).toMatch(/fraisier_webhook_deliveries_total\{provider="github",outcome="invalid_signature"\} \d+/);
      expect(metrics).toMatch(/fraisier_webhook_deliveries_total\{provider="github",outcome="duplicate"\} \d+/);
      expect(metrics).toMatch(/fraisier_webhook_duration_seconds_count \d+/);
    });

    it.skipIf(skip)('answers 405 to other methods, 404 to unknown providers, 400 when no header names the provider', async () => {
      expect((await fetch(`${t.url}/webhook`)).status).toBe(405);
      const unknown = await deliver(t.url, '/webhook/svn', '{}', { 'content-type': 'application/json' });
      expect(unknown.status).toBe(404);
      expect(unknown.json.message).toMatch(/^unknown webhook provider "svn" \(known: github, gitlab, gitea, bitbucket/);
      const anonymous = await deliver(t.url, '/webhook', '{}', { 'content-type': 'application/json' });
      expect(anonymous.status).toBe(400);
      expect(anonymous.json.code).toBe('BAD_USER_INPUT');
    });
  });

  describe(`webhooks without a configured secret, keeping no payloads, on ${dialect.name}`, async () => {
    const skip = await dialect.unavailable();
    let t: WebhookTestApp;
    beforeAll(async () => {
      if (skip) return;
      const yaml = WEBHOOK_CONFIG.replace(`webhook_secret: [${SECRETS.github.join(', ')}]`, 'webhook_secret: ""').replace(
        '    rate_limit: false',
        '    rate_limit: false\n    store_payload: false',
      );
      t = await startWebhookApp(dialect, yaml);
    });
    afterAll(async () => {
      if (!skip) await t.dispose();
    });

    it.skipIf(skip)('refuses every delivery of that provider (fail closed), writing nothing', async () => {
      const body = githubMasterPush();
      for (const headers of [await githubHeaders(body), await githubHeaders(body, { secret: 'any-secret' }), { 'x-github-event': 'push' }]) {
        const { answer, events } = await written(t.app, () => deliver(t.url, '/webhook', body, headers));
        expect(answer.status).toBe(401);
        expect(answer.json).toEqual({
          accepted: false,
          code: 'INVALID_SIGNATURE',
          message: 'no webhook secret is configured for github: every github delivery is refused (set git.github.webhook_secret or FRAISIER_WEBHOOK_SECRET_GITHUB)',
        });
        expect(events).toBe(0);
      }
    });

    it.skipIf(skip)('still takes the other providers\' deliveries, and keeps no payload when told not to', async () => {
      const body = fixture('gitlab/push.json');
      const answer = await deliver(t.url, '/webhook', body, gitlabHeaders());
      expect(answer.status).toBe(202);
      const row = (await eventRows(t.app)).find((r) => String(r.id) === answer.json.event.id)!;
      expect(row).toMatchObject({ provider: 'gitlab', outcome: 'accepted', payload: null });
    });
  });
}
