import { describe, expect, it } from 'vitest';
import type { FraisierConfig } from '../../src/config/types.js';
import { normalizeEvent } from '../../src/webhooks/normalize.js';
import type { EventKind, NormalizedEvent, RefUpdate, RepositoryInfo } from '../../src/webhooks/provider.js';
import { routeDelivery, type RoutingInput } from '../../src/webhooks/routing.js';
import { testConfig } from '../setup/app.js';
import { WEBHOOK_CONFIG } from './support.js';

/*
 * Routing alone: which pairs a verified delivery deploys, for every rule of DESIGN §5, without
 * a store. Every refusal and every "nothing to do" carries its reason.
 */

const SHA = 'a'.repeat(40);
const HELLO: RepositoryInfo = { fullName: 'Codertocat/Hello-World', urls: ['https://github.com/Codertocat/Hello-World.git'] };

function event(options: {
  ref: string | null;
  provider?: string;
  kind?: EventKind;
  after?: string | null;
  repository?: RepositoryInfo | null;
  also?: RefUpdate[];
}): NormalizedEvent {
  const kind = options.kind ?? (options.ref?.startsWith('refs/tags/') ? 'tag_push' : 'push');
  return normalizeEvent(
    {
      kind,
      ref: options.ref,
      after: options.after === undefined ? SHA : options.after,
      before: '0'.repeat(40),
      commitMessage: 'msg',
      commitAuthor: 'someone',
      repository: options.repository === undefined ? HELLO : options.repository,
      sender: 'octocat',
      ...(options.also ? { also: options.also } : {}),
    },
    { provider: options.provider ?? 'github', event: 'push', deliveryId: 'd-1' },
  );
}

function route(config: FraisierConfig, evt: NormalizedEvent, overrides: Partial<RoutingInput> = {}) {
  const providerName = evt.provider;
  return routeDelivery({
    config,
    event: evt,
    providerName,
    verifiedWith: config.git.providers[providerName]?.secrets[0] ?? '',
    providerSecrets: config.git.providers[providerName]?.secrets ?? [],
    ...overrides,
  });
}

const pairs = (decision: ReturnType<typeof routeDelivery>) => decision.targets.map((t) => `${t.env.fraise}/${t.env.name}`);

const config = testConfig(WEBHOOK_CONFIG);

describe('branch pushes', () => {
  it('deploy the environments whose branch it is and what branch_mapping maps it to, each once', () => {
    const github = route(config, event({ ref: 'refs/heads/master' }));
    expect(github.outcome).toBe('accepted');
    expect(pairs(github)).toEqual(['hello/production']);
    expect(github.targets[0]).toMatchObject({ branch: 'master', tag: null, commit: SHA });

    const gitlab = route(config, event({ ref: 'refs/heads/master', provider: 'gitlab', repository: { fullName: 'mike/diaspora', urls: ['git@example.com:mike/diaspora.git'] } }));
    expect(pairs(gitlab)).toEqual(['diaspora/qa', 'diaspora/production']);

    const doubled = testConfig(`${WEBHOOK_CONFIG}    - fraise: hello\n      environment: production\n`);
    expect(pairs(route(doubled, event({ ref: 'refs/heads/master' })))).toEqual(['hello/production']);
  });

  it('match the exact name only: master never deploys for changeset-release/master (Coolify #4405)', () => {
    for (const ref of ['refs/heads/changeset-release/master', 'refs/heads/master2', 'refs/heads/Master', 'refs/heads/mast']) {
      const decision = route(config, event({ ref }));
      expect(decision).toMatchObject({ outcome: 'ignored', targets: [], reason: `no fraise maps branch "${ref.slice(11)}"` });
    }
  });

  it('deploy only fraises that take this provider\'s deliveries', () => {
    const decision = route(config, event({ ref: 'refs/heads/master', provider: 'gitea' }));
    expect(decision.outcome).toBe('ignored');
    expect(decision.reason).toContain('hello/production takes github deliveries, not gitea');
    expect(decision.reason).toContain('bb_server/production takes bitbucket deliveries, not gitea');
  });

  it('deploy only from the configured repository, named as owner/name or by URL', () => {
    const other = route(config, event({ ref: 'refs/heads/master', repository: { fullName: 'evil/Hello-World', urls: ['https://github.com/evil/Hello-World.git'] } }));
    expect(other).toMatchObject({ outcome: 'ignored' });
    expect(other.reason).toContain('hello/production only takes pushes from "Codertocat/Hello-World", and this one came from "evil/Hello-World"');
    expect(route(config, event({ ref: 'refs/heads/master', repository: null })).outcome).toBe('ignored');
    // Case and .git do not matter; the URL forms all name the same repository.
    for (const configured of ['codertocat/hello-world', 'https://github.com/Codertocat/Hello-World', 'git@github.com:Codertocat/Hello-World.git', 'ssh://git@github.com/Codertocat/Hello-World.git']) {
      const c = testConfig(WEBHOOK_CONFIG.replace('repository: Codertocat/Hello-World', `repository: "${configured}"`));
      expect(pairs(route(c, event({ ref: 'refs/heads/master', repository: { fullName: null, urls: ['git@github.com:Codertocat/Hello-World.git'] } })))).toEqual([
        'hello/production',
      ]);
    }
    // The same path on another host is another repository.
    const elsewhere = testConfig(WEBHOOK_CONFIG.replace('repository: Codertocat/Hello-World', 'repository: https://git.example.com/Codertocat/Hello-World.git'));
    expect(route(elsewhere, event({ ref: 'refs/heads/master' })).outcome).toBe('ignored');
    // A local path cannot be compared with what a provider sends: it does not constrain.
    const local = testConfig(WEBHOOK_CONFIG.replace('repository: Codertocat/Hello-World', 'repository: /srv/git/hello.git'));
    expect(pairs(route(local, event({ ref: 'refs/heads/master', repository: { fullName: 'any/thing', urls: [] } })))).toEqual(['hello/production']);
  });

  it('deploy only what an API token may deploy', () => {
    const gitlab = event({ ref: 'refs/heads/master', provider: 'gitlab', repository: { fullName: 'mike/diaspora', urls: ['git@example.com:mike/diaspora.git'] } });
    const decision = route(config, gitlab, { mayDeploy: (_f, e) => e === 'qa' });
    expect(pairs(decision)).toEqual(['diaspora/qa']);
    expect(decision.reason).toContain('diaspora/production is not one the caller may deploy');
  });
});

describe('per-fraise secrets (Coolify #3923)', () => {
  const yaml = `
git:
  github:
    webhook_secret: shared-secret
fraises:
  own:
    type: api
    git:
      webhook_secret: own-secret
    environments:
      production:
        branch: main
        target: { provider: kubernetes, namespace: a }
  shared:
    type: api
    environments:
      production:
        branch: main
        target: { provider: kubernetes, namespace: b }
`;
  const c = testConfig(yaml);
  const push = event({ ref: 'refs/heads/main' });
  const input = { providerSecrets: ['shared-secret'] };

  it('a delivery signed with the provider\'s secret does not deploy a fraise that has its own', () => {
    const decision = route(c, push, { ...input, verifiedWith: 'shared-secret' });
    expect(pairs(decision)).toEqual(['shared/production']);
    expect(decision.reason).toContain('own/production has its own webhook secret, and this delivery was not signed with it');
  });

  it('a delivery signed with a fraise\'s own secret deploys that fraise only', () => {
    const decision = route(c, push, { ...input, verifiedWith: 'own-secret' });
    expect(pairs(decision)).toEqual(['own/production']);
    expect(decision.reason).toContain("shared/production takes deliveries signed with the github secret, and this one was signed with another fraise's own secret");
  });
});

describe('tags', () => {
  it('deploy only environments that opt in with a matching glob', () => {
    expect(pairs(route(config, event({ ref: 'refs/tags/simple-tag' })))).toEqual(['hello/release']);
    const v1 = route(config, event({ ref: 'refs/tags/v1.0.0' }));
    expect(v1).toMatchObject({ outcome: 'ignored', reason: 'no environment deploys tag "v1.0.0" (an environment opts in with tags: "v*")' });
    // A tag named like a branch is still a tag.
    expect(route(config, event({ ref: 'refs/tags/master' })).outcome).toBe('ignored');
  });
});

describe('what deploys nothing', () => {
  it('deletions, pings, pull requests, other events and other refs, each with its reason', () => {
    const zero = '0'.repeat(40);
    expect(route(config, event({ ref: 'refs/heads/master', kind: 'branch_delete', after: zero }))).toMatchObject({
      outcome: 'ignored',
      reason: 'branch "master" deleted: nothing to deploy',
    });
    expect(route(config, event({ ref: 'refs/tags/simple-tag', kind: 'tag_delete', after: zero })).reason).toBe('tag "simple-tag" deleted: nothing to deploy');
    expect(route(config, event({ ref: null, kind: 'ping' }))).toMatchObject({ outcome: 'ignored', reason: 'ping: nothing to deploy' });
    expect(route(config, event({ ref: null, kind: 'pull_request' })).reason).toBe('pull request events do not deploy; pushes do');
    expect(route(config, event({ ref: null, kind: 'other' })).reason).toBe('"push" events do not deploy; pushes do');
    expect(route(config, event({ ref: 'refs/notes/commits' })).reason).toBe('ref "refs/notes/commits" is neither a branch nor a tag');
  });

  it('a push without a ref, or without a full commit id, is refused', () => {
    expect(route(config, event({ ref: null }))).toMatchObject({ outcome: 'refused', reason: 'the push names no ref' });
    for (const after of [null, 'abc1234', 'A'.repeat(39), 'g'.repeat(40), `${SHA};id`]) {
      expect(route(config, event({ ref: 'refs/heads/master', after }))).toMatchObject({ outcome: 'refused', targets: [] });
    }
    // Upper-case hex is the same commit: accepted and stored lower case.
    expect(route(config, event({ ref: 'refs/heads/master', after: SHA.toUpperCase() })).targets[0]?.commit).toBe(SHA);
  });
});

describe('dangerous branch and tag names', () => {
  const names: Record<string, string> = {
    'a;touch x': 'contains one of: space',
    'a;id': 'holds a character other than letters, digits and . _ - / + @ #',
    '$(id)': 'holds a character other than letters, digits and . _ - / + @ #',
    '`id`': 'holds a character other than letters, digits and . _ - / + @ #',
    'a|b&c': 'holds a character other than letters, digits and . _ - / + @ #',
    '--upload-pack=touch x': 'starts with "-"',
    '-x': 'starts with "-"',
    '..': 'contains ".."',
    'a/../b': 'contains ".."',
    ['b'.repeat(300)]: 'is longer than 255 characters',
    '\u001b[31mred\u001b[0m': 'contains control characters',
    'line\nbreak': 'contains control characters',
  };

  it.each(Object.entries(names))('%j is refused with its reason and deploys nothing', (name, problem) => {
    for (const ref of [`refs/heads/${name}`, `refs/tags/${name}`]) {
      const decision = route(testConfig(WEBHOOK_CONFIG.replace('tags: "simple-*"', 'tags: "*"')), event({ ref }));
      expect(decision.outcome).toBe('refused');
      expect(decision.targets).toEqual([]);
      expect(decision.reason).toContain(`name refused: it ${problem}`);
      // The name is shown escaped: no control character reaches a log line or a terminal.
      expect(decision.reason).not.toMatch(/[\u0000-\u001f\u007f]/);
    }
  });

  it('one refused ref does not stop the other refs of the same push', () => {
    const decision = route(config, event({ ref: 'refs/heads/master', also: [{ kind: 'push', ref: 'refs/heads/$(id)', after: SHA, before: null, commitMessage: null, commitAuthor: null }] }));
    expect(decision.outcome).toBe('accepted');
    expect(pairs(decision)).toEqual(['hello/production']);
    expect(decision.reason).toMatch(/not deployed: branch name refused/);
  });
});
