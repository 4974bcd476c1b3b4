import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type WebhookDefinitions from '@octokit/webhooks-examples';
import { sign } from '@octokit/webhooks-methods';
import { sql } from 'kysely';
import pino from 'pino';
import type { App } from '../../src/app.js';
import { createTestApp, type TestApp, testConfig } from '../setup/app.js';
import type { DialectFixture } from '../setup/dialects.js';

/*
 * What the webhook tests share: a configuration with one fraise per provider, the providers'
 * own payloads (fixtures, and GitHub's examples package), signatures computed the way each
 * provider computes them (GitHub's by @octokit/webhooks-methods, not by Fraisier), and a real
 * server on port 0.
 */

export const SECRETS = {
  github: ['gh-secret-old', 'gh-secret-new'],
  gitlabToken: 'gl-token',
  gitlabSigning: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
  gitea: 'gitea-secret',
  bitbucket: 'bb-secret',
} as const;

/** API tokens of the test configuration. */
export const TOKENS = { deploy: 'deploy-token-0123456789', read: 'read-token-0123456789ab' } as const;

export const NOW = new Date('2026-11-21T12:00:00.000Z');

const target = (namespace: string) => `{ provider: kubernetes, namespace: ${namespace} }`;

/** One fraise per provider, each reachable by the fixture of its provider. */
export const WEBHOOK_CONFIG = `
fraisier:
  webhook:
    rate_limit: false
  drain_timeout: 2s
  tokens:
    - name: deployer
      token: ${TOKENS.deploy}
      scopes: [deploy]
    - name: reader
      token: ${TOKENS.read}
      scopes: [read]
git:
  provider: github
  github:
    webhook_secret: [${SECRETS.github.join(', ')}]
  gitlab:
    secret_token: [${SECRETS.gitlabToken}, "${SECRETS.gitlabSigning}"]
  gitea:
    webhook_secret: ${SECRETS.gitea}
  bitbucket:
    webhook_secret: ${SECRETS.bitbucket}
fraises:
  hello:
    type: api
    git:
      repository: Codertocat/Hello-World
    environments:
      production:
        branch: master
        target: ${target('prod')}
      release:
        tags: "simple-*"
        target: ${target('release')}
  diaspora:
    type: api
    git:
      provider: gitlab
      repository: http://example.com/mike/diaspora.git
    environments:
      production:
        branch: master
        target: ${target('diaspora')}
      qa:
        target: ${target('diaspora-qa')}
  webhooks_site:
    type: api
    git:
      provider: gitea
      repository: gitea/webhooks
    environments:
      develop:
        branch: develop
        target: ${target('site')}
  bb_cloud:
    type: worker
    git:
      provider: bitbucket
    environments:
      preview:
        branch: name-of-branch
        target: ${target('cloud')}
  bb_server:
    type: worker
    git:
      provider: bitbucket
      repository: ssh://git@bitbucketserver:7999/myproject/test-repo.git
    environments:
      production:
        branch: master
        target: ${target('server')}
branch_mapping:
  master:
    - fraise: diaspora
      environment: qa
`;

/** A fixture's text, byte for byte as published. */
export function fixture(path: string): string {
  return readFileSync(join(import.meta.dirname, '..', 'fixtures', 'webhooks', path), 'utf8');
}

// The package's main is a JSON file: load it the way Node loads JSON.
const examples = createRequire(import.meta.url)('@octokit/webhooks-examples') as typeof WebhookDefinitions;

type ExampleName = 'push' | 'ping' | 'create' | 'delete' | 'pull_request';

/** One of GitHub's example payloads (as GitHub serialises JSON: compact). */
export function githubExample(name: ExampleName, pick: (example: Record<string, unknown>) => boolean = () => true): string {
  const definition = (examples as unknown as { name: string; examples: Record<string, unknown>[] }[]).find((d) => d.name === name);
  const example = definition?.examples.find(pick);
  if (!example) throw new Error(`no GitHub ${name} example matches`);
  return JSON.stringify(example);
}

/** GitHub's push of `refs/heads/master` (Codertocat/Hello-World, commit 6113728f...). */
export const githubMasterPush = () => githubExample('push', (e) => e.ref === 'refs/heads/master');
export const GITHUB_MASTER_SHA = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';

/** The commit of GitLab's documented push (tests/fixtures/webhooks/gitlab/push.json). */
export const GITLAB_PUSH_SHA = 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7';

/** A commit id no test pushed before. */
export function newSha(): string {
  return randomBytes(20).toString('hex');
}

/**
 * A push body made to carry another commit (every mention of `from` replaced by `to`): a new
 * push rather than a replay, which would queue nothing while `from` is queued or deployed.
 */
export function withCommit(body: string, from: string, to: string = newSha()): string {
  return body.replaceAll(from, to);
}

export async function githubHeaders(body: string, options: { secret?: string; event?: string; delivery?: string } = {}): Promise<Record<string, string>> {
  return {
    'content-type': 'application/json',
    'x-github-event': options.event ?? 'push',
    'x-github-delivery': options.delivery ?? randomUUID(),
    'x-hub-signature-256': await sign(options.secret ?? SECRETS.github[1], body),
  };
}

/** What Gitea sends: its own headers, Gogs' and GitHub's (all from one delivery). */
export async function giteaHeaders(body: string, options: { secret?: string; event?: string; delivery?: string } = {}): Promise<Record<string, string>> {
  const delivery = options.delivery ?? randomUUID();
  const event = options.event ?? 'push';
  const signature = await sign(options.secret ?? SECRETS.gitea, body);
  return {
    'content-type': 'application/json',
    'x-github-delivery': delivery,
    'x-github-event': event,
    'x-gogs-delivery': delivery,
    'x-gogs-event': event,
    'x-gitea-delivery': delivery,
    'x-gitea-event': event,
    'x-gitea-signature': signature.slice('sha256='.length),
    'x-gogs-signature': signature.slice('sha256='.length),
    'x-hub-signature-256': signature,
  };
}

export function gitlabHeaders(options: { token?: string | null; event?: string; key?: string } = {}): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-gitlab-event': options.event ?? 'Push Hook',
    'x-gitlab-event-uuid': randomUUID(),
    'idempotency-key': options.key ?? randomUUID(),
    ...(options.token === null ? {} : { 'x-gitlab-token': options.token ?? SECRETS.gitlabToken }),
  };
}

/** GitLab's signing-token headers (Standard Webhooks), computed here as the spec says. */
export function gitlabSignedHeaders(body: string, options: { timestamp: number; secret?: string; event?: string; id?: string }): Record<string, string> {
  const id = options.id ?? randomUUID();
  const key = Buffer.from((options.secret ?? SECRETS.gitlabSigning).slice('whsec_'.length), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${options.timestamp}.${body}`).digest('base64');
  return {
    'content-type': 'application/json',
    'x-gitlab-event': options.event ?? 'Push Hook',
    'idempotency-key': id,
    'webhook-id': id,
    'webhook-timestamp': String(options.timestamp),
    'webhook-signature': `v1,${signature}`,
  };
}

export async function bitbucketHeaders(
  body: string,
  options: { secret?: string; event?: string; server?: boolean; delivery?: string } = {},
): Promise<Record<string, string>> {
  return {
    'content-type': 'application/json',
    'x-event-key': options.event ?? 'repo:push',
    [options.server ? 'x-request-id' : 'x-request-uuid']: options.delivery ?? randomUUID(),
    'x-hub-signature': await sign(options.secret ?? SECRETS.bitbucket, body),
  };
}

export interface Answer {
  status: number;
  text: string;
  json: any;
}

export async function deliver(url: string, path: string, body: string | Buffer, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

export interface WebhookTestApp extends TestApp {
  url: string;
}

/** A migrated app on a fresh database of `dialect`, listening on a free port. */
export async function startWebhookApp(dialect: DialectFixture, yaml = WEBHOOK_CONFIG, now: () => Date = () => NOW): Promise<WebhookTestApp> {
  const t = await createTestApp(dialect, { config: testConfig(yaml), now });
  try {
    const { url } = await t.app.start({ port: 0 });
    return { ...t, url };
  } catch (error) {
    await t.dispose();
    throw error;
  }
}

/** Rows of a table (counted in the store, not through the API). */
export async function countRows(app: App, table: 'tb_webhook_event' | 'tb_deployment' | 'tb_deployment_request'): Promise<number> {
  const row = await app.store.db.selectFrom(table).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Recorded deliveries, oldest first, straight from tb_webhook_event. */
export async function eventRows(app: App) {
  return app.store.db.selectFrom('tb_webhook_event').selectAll().orderBy('id', 'asc').execute();
}

/** Deployments queued by one recorded delivery. */
export async function deploymentsOf(app: App, eventId: number | string) {
  return app.store.db
    .selectFrom('tb_deployment as d')
    .innerJoin('tb_deployment_request as r', 'r.id', 'd.fk_request')
    .select(['d.id', 'd.fraise', 'd.environment', 'd.git_commit', 'd.git_branch', 'r.trigger_type', 'r.requested_by', 'r.context'])
    .where('r.fk_webhook_event', '=', Number(eventId))
    .orderBy('d.id', 'asc')
    .execute();
}

/** A logger whose lines the test reads. */
export function capturingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}
