import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bitbucket } from '../../src/webhooks/bitbucket.js';
import { gitea } from '../../src/webhooks/gitea.js';
import { github } from '../../src/webhooks/github.js';
import { gitlab } from '../../src/webhooks/gitlab.js';
import { normalizeEvent } from '../../src/webhooks/normalize.js';
import { parseJsonBody } from '../../src/webhooks/payload.js';
import type { GitProvider, ParsedEvent, VerifyOutcome } from '../../src/webhooks/provider.js';
import { createGitProviderRegistry, type ResolvedProvider } from '../../src/webhooks/registry.js';
import { providerSecrets, verifyDelivery } from '../../src/webhooks/verify-delivery.js';
import { testConfig } from '../setup/app.js';
import {
  bitbucketHeaders,
  fixture,
  giteaHeaders,
  githubExample,
  githubHeaders,
  githubMasterPush,
  gitlabHeaders,
  gitlabSignedHeaders,
  NOW,
  SECRETS,
  WEBHOOK_CONFIG,
} from './support.js';

/*
 * The providers alone (pure functions, no store): signatures as each provider computes them,
 * the providers' own payloads read into the normalised event, and malformed input that must
 * be "invalid" or "ignored", never an exception.
 */

const ALL_SECRETS = {
  github: [...SECRETS.github],
  gitlab: [SECRETS.gitlabToken, SECRETS.gitlabSigning],
  gitea: [SECRETS.gitea],
  bitbucket: [SECRETS.bitbucket],
};

function verify(provider: GitProvider, body: string, headers: Record<string, string>, secrets: string[], now = NOW): VerifyOutcome {
  const signature = provider.describe!(headers).signature;
  return provider.verify({ body: Buffer.from(body, 'utf8'), headers, signature, secrets, now });
}

function parse(provider: GitProvider, body: string, headers: Record<string, string>): ParsedEvent {
  const { event, deliveryId } = provider.describe!(headers);
  let json: unknown;
  return provider.parse({
    body: Buffer.from(body, 'utf8'),
    text: body,
    headers,
    event,
    deliveryId,
    json: () => (json ??= parseJsonBody(body, headers)),
  });
}

const hex = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('hex');

describe('GitHub', () => {
  it('verifies GitHub\'s push example signed by @octokit/webhooks-methods, with either rotated secret', async () => {
    const body = githubMasterPush();
    for (const secret of SECRETS.github) {
      expect(verify(github, body, await githubHeaders(body, { secret }), ALL_SECRETS.github)).toEqual({ valid: true, secret });
    }
    const wrong = verify(github, body, await githubHeaders(body, { secret: 'not-the-secret' }), ALL_SECRETS.github);
    expect(wrong).toEqual({ valid: false, reason: 'X-Hub-Signature-256 does not match the body signed with any configured secret' });
  });

  it('reads the push, ping, create, delete and pull_request examples', async () => {
    const push = githubMasterPush();
    expect(parse(github, push, await githubHeaders(push))).toMatchObject({
      kind: 'push',
      ref: 'refs/heads/master',
      after: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
      before: '0000000000000000000000000000000000000000',
      sender: 'Codertocat',
      commitMessage: 'Initial commit',
      commitAuthor: 'Codertocat',
      repository: {
        fullName: 'Codertocat/Hello-World',
        urls: expect.arrayContaining(['https://github.com/Codertocat/Hello-World.git', 'git@github.com:Codertocat/Hello-World.git']),
      },
    });
    const tag = githubExample('push', (e) => e.ref === 'refs/tags/simple-tag' && e.deleted === false);
    expect(parse(github, tag, await githubHeaders(tag))).toMatchObject({ kind: 'tag_push', ref: 'refs/tags/simple-tag' });
    const tagDeleted = githubExample('push', (e) => e.ref === 'refs/tags/simple-tag' && e.deleted === true);
    expect(parse(github, tagDeleted, await githubHeaders(tagDeleted))).toMatchObject({ kind: 'tag_delete', commitMessage: null });
    const ping = githubExample('ping');
    expect(parse(github, ping, await githubHeaders(ping, { event: 'ping' }))).toMatchObject({ kind: 'ping', sender: expect.any(String) });
    for (const event of ['create', 'delete'] as const) {
      const body = githubExample(event);
      expect(parse(github, body, await githubHeaders(body, { event }))).toMatchObject({ kind: 'other', eventType: event, ref: null });
    }
    const pr = githubExample('pull_request', (e) => e.action === 'opened');
    expect(parse(github, pr, await githubHeaders(pr, { event: 'pull_request' }))).toMatchObject({ kind: 'pull_request', ref: null });
  });

  it('refuses a delivery that carries Gitea\'s headers, even validly signed with the GitHub secret', async () => {
    const body = fixture('gitea/push.json');
    const headers = await giteaHeaders(body, { secret: SECRETS.github[0] });
    const outcome = verify(github, body, headers, ALL_SECRETS.github);
    expect(outcome.valid).toBe(false);
    expect((outcome as { reason: string }).reason).toMatch(/Gitea.*\/webhook\/gitea/);
  });
});

describe('GitLab', () => {
  const body = fixture('gitlab/push.json');

  it('accepts its secret token (either configured kind), refuses others, an empty one and none', () => {
    expect(verify(gitlab, body, gitlabHeaders(), ALL_SECRETS.gitlab)).toEqual({ valid: true, secret: SECRETS.gitlabToken });
    expect(verify(gitlab, body, gitlabHeaders({ token: 'wrong' }), ALL_SECRETS.gitlab)).toEqual({
      valid: false,
      reason: 'X-Gitlab-Token does not match any configured secret token',
    });
    // Coolify #4186: an empty token must not equal "no secret".
    expect(verify(gitlab, body, gitlabHeaders({ token: '' }), ALL_SECRETS.gitlab).valid).toBe(false);
    expect(verify(gitlab, body, gitlabHeaders({ token: null }), ALL_SECRETS.gitlab)).toMatchObject({
      valid: false,
      reason: expect.stringMatching(/^missing X-Gitlab-Token/),
    });
  });

  it('accepts a signing-token signature within 5 minutes of its timestamp, and not beyond', () => {
    const seconds = NOW.getTime() / 1000;
    for (const skew of [0, 299, -299]) {
      expect(verify(gitlab, body, gitlabSignedHeaders(body, { timestamp: seconds + skew }), ALL_SECRETS.gitlab)).toEqual({
        valid: true,
        secret: SECRETS.gitlabSigning,
      });
    }
    for (const skew of [301, -301, -86_400]) {
      const outcome = verify(gitlab, body, gitlabSignedHeaders(body, { timestamp: seconds + skew }), ALL_SECRETS.gitlab);
      expect(outcome).toMatchObject({ valid: false, reason: expect.stringMatching(/webhook-timestamp is \d+ s away/) });
    }
  });

  it('refuses a signing-token signature made with another key, malformed, or over another body', () => {
    const seconds = NOW.getTime() / 1000;
    const otherKey = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    expect(verify(gitlab, body, gitlabSignedHeaders(body, { timestamp: seconds, secret: otherKey }), ALL_SECRETS.gitlab).valid).toBe(false);
    const headers = gitlabSignedHeaders(body, { timestamp: seconds });
    expect(verify(gitlab, `${body} `, headers, ALL_SECRETS.gitlab).valid).toBe(false);
    for (const signature of ['v1,', 'v1,not base64', 'v2,' + headers['webhook-signature']!.slice(3), headers['webhook-signature']!.toUpperCase()]) {
      expect(verify(gitlab, body, { ...headers, 'webhook-signature': signature }, ALL_SECRETS.gitlab).valid).toBe(false);
    }
    // Several signatures (key rotation on GitLab's side): one valid is enough.
    const both = `v1,${Buffer.alloc(32).toString('base64')} ${headers['webhook-signature']}`;
    expect(verify(gitlab, body, { ...headers, 'webhook-signature': both }, ALL_SECRETS.gitlab).valid).toBe(true);
    // Only whsec_ secrets sign: a plain token configured alone cannot verify a signature.
    expect(verify(gitlab, body, headers, [SECRETS.gitlabToken]).valid).toBe(false);
  });

  it('reads the documented push and tag push, and tells GitLab\'s test sample apart', () => {
    expect(parse(gitlab, body, gitlabHeaders())).toMatchObject({
      kind: 'push',
      eventType: 'Push Hook',
      ref: 'refs/heads/master',
      after: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
      before: '95790bf891e76fee5e1747ab589903a6a1f80f22',
      sender: 'jsmith',
      commitMessage: 'fixed readme',
      commitAuthor: 'GitLab dev user',
      repository: { fullName: 'mike/diaspora', urls: expect.arrayContaining(['http://example.com/mike/diaspora.git']) },
    });
    const tag = fixture('gitlab/tag-push.json');
    expect(parse(gitlab, tag, gitlabHeaders({ event: 'Tag Push Hook' }))).toMatchObject({
      kind: 'tag_push',
      ref: 'refs/tags/v1.0.0',
      after: '82b3d5ae55f7080f1e6022629cdb57bfae7cccc7',
    });
    const sample = fixture('gitlab/test-hook-sample.json');
    expect(parse(gitlab, sample, gitlabHeaders())).toMatchObject({ kind: 'ping', note: expect.stringMatching(/GitLab test hook/) });
  });
});

describe('Gitea / Forgejo / Gogs', () => {
  const body = fixture('gitea/push.json');

  it('verifies the bare hex signature and reads the documented push', async () => {
    const headers = await giteaHeaders(body);
    expect(verify(gitea, body, headers, ALL_SECRETS.gitea)).toEqual({ valid: true, secret: SECRETS.gitea });
    expect(parse(gitea, body, headers)).toMatchObject({
      kind: 'push',
      ref: 'refs/heads/develop',
      after: 'bffeb74224043ba2feb48d137756c8a9331c449a',
      sender: 'gitea',
      commitMessage: 'Webhooks Yay!',
      commitAuthor: 'Gitea',
      repository: { fullName: 'gitea/webhooks' },
    });
  });

  it('reads Forgejo\'s headers too, and refuses Gitea\'s empty signature (a hook without secret)', async () => {
    const forgejo = { 'x-forgejo-event': 'push', 'x-forgejo-delivery': 'f1', 'x-forgejo-signature': hex(SECRETS.gitea, body) };
    expect(gitea.describe!(forgejo)).toEqual({ event: 'push', deliveryId: 'f1', signature: hex(SECRETS.gitea, body) });
    expect(verify(gitea, body, forgejo, ALL_SECRETS.gitea).valid).toBe(true);
    const unsigned = { ...(await giteaHeaders(body)), 'x-gitea-signature': '', 'x-gogs-signature': '' };
    expect(verify(gitea, body, unsigned, ALL_SECRETS.gitea)).toMatchObject({ valid: false, reason: expect.stringMatching(/^missing X-Gitea-Signature/) });
  });
});

describe('Bitbucket Cloud and Server', () => {
  it('verifies X-Hub-Signature: sha256= and reads Cloud\'s repo:push', async () => {
    const body = fixture('bitbucket/cloud-repo-push.json');
    const headers = await bitbucketHeaders(body);
    expect(verify(bitbucket, body, headers, ALL_SECRETS.bitbucket)).toEqual({ valid: true, secret: SECRETS.bitbucket });
    expect(parse(bitbucket, body, headers)).toMatchObject({
      kind: 'push',
      ref: 'refs/heads/name-of-branch',
      after: '709d658dc5b6d6afcd46049c2f332ee3f515a67d',
      before: '1e65c05c1d5171631d92438a13901ca7dae9618c',
      sender: 'emmap1',
      commitMessage: 'new commit message\n',
      commitAuthor: 'Emma',
      repository: { fullName: 'team_name/repo_name' },
    });
  });

  it('reads Server\'s repo:refs_changed (update and delete) and diagnostics:ping', async () => {
    const push = fixture('bitbucket/server-refs-changed.json');
    expect(parse(bitbucket, push, await bitbucketHeaders(push, { event: 'repo:refs_changed', server: true }))).toMatchObject({
      kind: 'push',
      ref: 'refs/heads/master',
      after: '22671f0349857934857983457983475ec39f196b',
      sender: 'john',
      repository: { fullName: 'MYPROJECT/test-repo', urls: expect.arrayContaining(['ssh://git@bitbucketserver:7999/myproject/test-repo.git']) },
    });
    const deleted = fixture('bitbucket/server-branch-deleted.json');
    expect(parse(bitbucket, deleted, await bitbucketHeaders(deleted, { event: 'repo:refs_changed', server: true }))).toMatchObject({
      kind: 'branch_delete',
      ref: 'refs/heads/feature/wip',
    });
    const ping = fixture('bitbucket/server-diagnostics-ping.json');
    expect(parse(bitbucket, ping, await bitbucketHeaders(ping, { event: 'diagnostics:ping', server: true }))).toMatchObject({ kind: 'ping' });
  });

  it('carries every ref of a push that moves several', async () => {
    const payload = JSON.parse(fixture('bitbucket/cloud-repo-push.json'));
    const change = payload.push.changes[0];
    payload.push.changes.push({ ...change, new: { ...change.new, name: 'second' }, old: null });
    const body = JSON.stringify(payload);
    const parsed = parse(bitbucket, body, await bitbucketHeaders(body));
    expect(parsed.ref).toBe('refs/heads/name-of-branch');
    expect(parsed.also).toEqual([expect.objectContaining({ kind: 'push', ref: 'refs/heads/second', before: '0000000000000000000000000000000000000000' })]);
  });
});

describe('malformed signatures', () => {
  const body = githubMasterPush();
  const digest = hex(SECRETS.github[1], body);
  const sha1 = createHmac('sha1', SECRETS.github[1]).update(body).digest('hex');
  const malformed = {
    'sha1= only': `sha1=${sha1}`,
    'upper-case hex': `sha256=${digest.toUpperCase()}`,
    truncated: `sha256=${digest.slice(0, 63)}`,
    'one digit too many': `sha256=${digest}0`,
    'wrong prefix': `sha512=${digest}`,
    'no prefix': digest,
    'non-hex': `sha256=${'z'.repeat(64)}`,
    'space after =': `sha256= ${digest}`,
    'trailing space': `sha256=${digest} `,
    'leading space': ` sha256=${digest}`,
    empty: '',
  };

  it.each(Object.entries(malformed))('GitHub and Bitbucket: %s is invalid, not an error', (_name, signature) => {
    expect(verify(github, body, { 'x-github-event': 'push', 'x-hub-signature-256': signature }, ALL_SECRETS.github).valid).toBe(false);
    expect(verify(bitbucket, body, { 'x-event-key': 'repo:push', 'x-hub-signature': signature }, [SECRETS.github[1]]).valid).toBe(false);
  });

  const bareMalformed = {
    'sha1 digest': sha1,
    'upper-case hex': digest.toUpperCase(),
    truncated: digest.slice(0, 63),
    'sha256= prefix (Gitea sends none)': `sha256=${digest}`,
    'non-hex': 'g'.repeat(64),
    'inner space': `${digest.slice(0, 32)} ${digest.slice(32)}`,
    'trailing space': `${digest} `,
    empty: '',
  };

  it.each(Object.entries(bareMalformed))('Gitea: %s is invalid, not an error', (_name, signature) => {
    expect(verify(gitea, body, { 'x-gitea-event': 'push', 'x-gitea-signature': signature }, [SECRETS.github[1]]).valid).toBe(false);
    // ...while the well-formed one verifies.
    expect(verify(gitea, body, { 'x-gitea-event': 'push', 'x-gitea-signature': digest }, [SECRETS.github[1]]).valid).toBe(true);
  });

  it('a body changed after signing does not verify (whitespace, key order, \\u escapes)', async () => {
    const headers = await githubHeaders(body);
    const object = JSON.parse(body);
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(object).reverse()));
    const escaped = body.replace('Initial commit', 'Initial comm\\u0069t');
    for (const altered of [`${body}\n`, ` ${body}`, JSON.stringify(object, null, 2), reordered, escaped]) {
      expect(altered).not.toBe(body);
      expect(verify(github, altered, headers, ALL_SECRETS.github).valid).toBe(false);
    }
  });

  it('an unchanged body holding a BOM and multibyte text verifies', async () => {
    const text = `\ufeff${body.replaceAll('Initial commit', 'Première ✓ 提交 🍓')}`;
    const headers = await githubHeaders(text);
    expect(verify(github, text, headers, ALL_SECRETS.github).valid).toBe(true);
    expect(parse(github, text, headers)).toMatchObject({ kind: 'push', commitMessage: 'Première ✓ 提交 🍓' });
  });

  it('no refusal reason contains the secret, the presented or the expected signature', async () => {
    const presented = await githubHeaders(body, { secret: 'attacker' });
    const reasons = [
      verify(github, body, presented, ALL_SECRETS.github),
      verify(gitea, body, { 'x-gitea-event': 'push', 'x-gitea-signature': hex('attacker', body) }, [SECRETS.gitea]),
      verify(bitbucket, body, { 'x-event-key': 'repo:push', 'x-hub-signature': presented['x-hub-signature-256']! }, [SECRETS.bitbucket]),
      verify(gitlab, body, gitlabHeaders({ token: 'attacker' }), ALL_SECRETS.gitlab),
    ].map((o) => (o as { reason: string }).reason);
    for (const reason of reasons) {
      expect(reason).toEqual(expect.any(String));
      for (const secret of [...ALL_SECRETS.github, ...ALL_SECRETS.gitlab, SECRETS.gitea, SECRETS.bitbucket]) expect(reason).not.toContain(secret);
      for (const value of [digest, hex(SECRETS.gitea, body), hex(SECRETS.bitbucket, body), presented['x-hub-signature-256']!.slice(7), 'attacker']) {
        expect(reason).not.toContain(value);
      }
    }
  });
});

describe('wrongly shaped payloads, validly signed', () => {
  const shapes: Record<string, string> = {
    'commits as a string': JSON.stringify({ ref: 'refs/heads/master', before: 'a', after: 'b', commits: 'nope', head_commit: 'x' }),
    'ref: null': JSON.stringify({ ref: null, before: null, after: null, repository: 'nope', sender: 7 }),
    'numbers everywhere': JSON.stringify({ ref: 1, after: 2, before: 3, repository: { full_name: 4, clone_url: [5] }, sender: { login: {} } }),
    'arrays where objects go': JSON.stringify({ ref: [], after: {}, head_commit: [], repository: [], push: [], changes: 'x', project: [] }),
    'deep nesting': `{"ref":"refs/heads/master","x":${'['.repeat(5000)}${']'.repeat(5000)}}`,
  };

  it.each(Object.entries(shapes))('%s: parsed without throwing by every provider', (_name, body) => {
    for (const [provider, headers] of [
      [github, { 'x-github-event': 'push' }],
      [gitlab, { 'x-gitlab-event': 'Push Hook' }],
      [gitea, { 'x-gitea-event': 'push' }],
      [bitbucket, { 'x-event-key': 'repo:push' }],
      [bitbucket, { 'x-event-key': 'repo:refs_changed' }],
    ] as const) {
      // The provider's own output is well formed (normalizeEvent would force it to be anyway).
      const parsed = parse(provider, body, headers);
      expect(['push', 'branch_delete', 'other', 'ping', 'pull_request', 'tag_push', 'tag_delete']).toContain(parsed.kind);
      for (const field of [parsed.ref, parsed.after, parsed.before, parsed.sender, parsed.commitMessage]) {
        expect(field === null || typeof field === 'string').toBe(true);
      }
      expect(() => normalizeEvent(parsed, { provider: provider.name, event: null, deliveryId: null })).not.toThrow();
    }
  });

  it('a body that is not JSON, or JSON but not an object, is a PayloadSyntaxError', () => {
    for (const body of ['not json', '[1,2]', '"text"', '']) {
      expect(() => parse(github, body, { 'x-github-event': 'push' })).toThrow(/not JSON|not an object/);
    }
  });

  it('reads a form-encoded delivery (GitHub\'s default content type)', async () => {
    const json = githubMasterPush();
    const body = `payload=${encodeURIComponent(json)}`;
    const headers = { ...(await githubHeaders(body)), 'content-type': 'application/x-www-form-urlencoded' };
    expect(verify(github, body, headers, ALL_SECRETS.github).valid).toBe(true);
    expect(parse(github, body, headers)).toMatchObject({ kind: 'push', ref: 'refs/heads/master' });
  });
});

describe('verifying with the configured secrets (fail closed)', () => {
  const config = testConfig(WEBHOOK_CONFIG);
  const context = { body: Buffer.from('{}'), headers: {}, signature: 'x', now: NOW };
  const custom = (verify: GitProvider['verify'], secrets?: string[]): ResolvedProvider => ({
    provider: { name: 'mine', detect: () => false, verify, parse: () => ({}) as never, ...(secrets ? { secrets } : {}) },
    storedName: 'custom:mine',
    custom: true,
  });

  it('refuses everything for a provider without a secret, saying where to set one', () => {
    const resolved = createGitProviderRegistry().resolve('github')!;
    expect(verifyDelivery(resolved, context, { all: [], provider: [] })).toEqual({
      valid: false,
      reason: 'no webhook secret is configured for github: every github delivery is refused (set git.github.webhook_secret or FRAISIER_WEBHOOK_SECRET_GITHUB)',
    });
    const mine = custom(() => ({ valid: true, secret: 'anything' }));
    expect(verifyDelivery(mine, context, providerSecrets(config, mine))).toMatchObject({ valid: false, reason: expect.stringMatching(/^no webhook secret is configured for mine/) });
  });

  it('treats a custom verify() that throws, or vouches with a secret it was not given, as invalid', () => {
    const throwing = custom(() => {
      throw new Error('boom');
    }, ['s']);
    expect(verifyDelivery(throwing, context, providerSecrets(config, throwing))).toEqual({ valid: false, reason: 'the mine provider could not verify the delivery: boom' });
    const lying = custom(() => ({ valid: true, secret: 'not-configured' }), ['s']);
    expect(verifyDelivery(lying, context, providerSecrets(config, lying)).valid).toBe(false);
    const honest = custom(({ secrets }) => ({ valid: true, secret: secrets[0]! }), ['s']);
    expect(verifyDelivery(honest, context, providerSecrets(config, honest))).toEqual({ valid: true, secret: 's' });
  });

  it('gathers the provider\'s secrets and those of the fraises that take its deliveries', () => {
    const yaml = `${WEBHOOK_CONFIG.replace('      repository: gitea/webhooks', '      repository: gitea/webhooks\n      webhook_secret: site-own')}`;
    const gitea = createGitProviderRegistry().resolve('gitea')!;
    expect(providerSecrets(testConfig(yaml), gitea)).toEqual({ provider: [SECRETS.gitea], all: [SECRETS.gitea, 'site-own'] });
  });
});

describe('the provider registry', () => {
  it('detects in the documented order: Gitea (which also sends X-GitHub-Event), GitLab, Bitbucket, GitHub', async () => {
    const registry = createGitProviderRegistry();
    const body = fixture('gitea/push.json');
    expect(registry.detect(await giteaHeaders(body))?.storedName).toBe('gitea');
    expect(registry.detect({ 'x-forgejo-event': 'push', 'x-github-event': 'push' })?.storedName).toBe('gitea');
    expect(registry.detect({ 'x-gitlab-event': 'Push Hook', 'x-event-key': 'repo:push' })?.storedName).toBe('gitlab');
    expect(registry.detect({ 'x-event-key': 'repo:push', 'x-github-event': 'push' })?.storedName).toBe('bitbucket');
    expect(registry.detect({ 'x-github-event': 'push' })?.storedName).toBe('github');
    expect(registry.detect({ 'user-agent': 'curl' })).toBeUndefined();
  });

  it('registers custom providers per registry, stored as custom:<name>, and refuses bad or taken names', () => {
    const mine: GitProvider = {
      name: 'mygit',
      detect: (h) => h['x-mygit-event'] !== undefined,
      verify: () => ({ valid: false, reason: 'no' }),
      parse: () => ({ kind: 'other', ref: null, after: null, before: null, commitMessage: null, commitAuthor: null, repository: null, sender: null }),
    };
    const one = createGitProviderRegistry([mine]);
    const other = createGitProviderRegistry();
    expect(one.resolve('mygit')).toMatchObject({ storedName: 'custom:mygit', custom: true });
    expect(one.resolve('custom:mygit')?.provider).toBe(mine);
    expect(one.detect({ 'x-mygit-event': 'push' })?.storedName).toBe('custom:mygit');
    expect(other.resolve('mygit')).toBeUndefined();
    expect(one.resolve('forgejo')?.storedName).toBe('gitea');
    expect(() => one.register(mine)).toThrow(/already registered/);
    expect(() => other.register({ ...mine, name: 'github' })).toThrow(/built-in/);
    expect(() => other.register({ ...mine, name: 'Bad Name' })).toThrow(/lower-case/);
    expect(() => other.register({ ...mine, name: 'noparse', parse: undefined as never })).toThrow(/no parse\(\)/);
  });
});
