import type { EnvironmentConfig, FraiseConfig, FraisierConfig } from '../config/types.js';
import { isFullCommitSha, matchesGlob, parseRef, refNameProblem } from '../git/refs.js';
import type { NormalizedEvent, RefUpdate } from './provider.js';
import { canonicalProviderName } from './registry.js';
import { describeRepository, locateRepository, repositoryMatches } from './repository-match.js';
import { shortSha, shown } from './text.js';

/*
 * Which (fraise, environment) pairs a verified delivery deploys, and why: a pure function of the
 * configuration and the event, so every rule is tested without a store.
 *
 * - A push to branch B deploys what `branch_mapping` maps B to and every environment whose
 *   `branch` is B: exact names only (`master` never matches `changeset-release/master`).
 * - A tag push deploys only environments whose `tags` glob matches it.
 * - A fraise takes deliveries from its provider only (`git.provider`, else the default one),
 *   from its repository only (when one is configured as a URL or `owner/name`), and, when it
 *   has its own webhook secret, only deliveries signed with that secret; a delivery signed with
 *   the provider's secret does not deploy it, nor one signed with another fraise's secret a
 *   fraise that has none.
 * - A branch or tag name that `git check-ref-format --branch` (and our stricter rules) would
 *   refuse is refused here, recorded with the reason, and never passed on; so is one holding a
 *   character outside letters, digits and `. _ - / + @ #`: `$(id)` is a valid ref name for
 *   git, but no branch a deployment should follow.
 * - Deletions, pings, pull/merge requests and other events deploy nothing.
 */

/** What a branch or tag name may hold, besides what git itself refuses. */
const SAFE_NAME = /^[\p{L}\p{N}._\-/+@#]+$/u;

export interface RoutingInput {
  config: FraisierConfig;
  event: NormalizedEvent;
  /** The provider's name as a fraise's `git.provider` says it: `github`, `gitlab`, or a custom name. */
  providerName: string;
  /** The configured secret that verified the delivery. */
  verifiedWith: string;
  /** The provider-level secrets (`git.<provider>`), as opposed to fraises' own. */
  providerSecrets: readonly string[];
  /** Pairs the caller may deploy (an API token may be limited); all when absent. */
  mayDeploy?: (fraise: string, environment: string) => boolean;
}

/** One deployment to queue: the environment and the ref update that asks for it. */
export interface DeployTarget {
  env: EnvironmentConfig;
  branch: string | null;
  tag: string | null;
  /** The exact pushed commit (full SHA, lower case). */
  commit: string;
  update: RefUpdate;
}

export type RoutingDecision =
  | { outcome: 'accepted'; targets: DeployTarget[]; reason: string }
  | { outcome: 'ignored' | 'refused'; targets: []; reason: string };

type UpdateRoute =
  | { kind: 'deploy'; targets: DeployTarget[]; summary: string; skipped: string[] }
  | { kind: 'ignored' | 'refused'; reason: string };

export function routeDelivery(input: RoutingInput): RoutingDecision {
  const { event } = input;
  const note = event.note ? ` (${event.note})` : '';
  switch (event.kind) {
    case 'ping':
      return { outcome: 'ignored', targets: [], reason: event.note ?? 'ping: nothing to deploy' };
    case 'pull_request':
      return { outcome: 'ignored', targets: [], reason: `pull request events do not deploy; pushes do${note}` };
    case 'other':
      return { outcome: 'ignored', targets: [], reason: `${shown(event.eventType)} events do not deploy; pushes do${note}` };
    default:
      break;
  }

  const targets = new Map<string, DeployTarget>();
  const summaries: string[] = [];
  const refused: string[] = [];
  const ignored: string[] = [];
  for (const update of [event, ...(event.also ?? [])]) {
    const route = routeUpdate(input, update);
    if (route.kind !== 'deploy') {
      (route.kind === 'refused' ? refused : ignored).push(route.reason);
      continue;
    }
    for (const target of route.targets) {
      const key = `${target.env.fraise}\u0000${target.env.name}`;
      if (!targets.has(key)) targets.set(key, target);
    }
    summaries.push(route.summary);
    ignored.push(...route.skipped);
  }
  if (targets.size > 0) {
    const others = [...refused, ...ignored];
    return {
      outcome: 'accepted',
      targets: [...targets.values()],
      reason: summaries.join('; ') + (others.length ? `; not deployed: ${others.join('; ')}` : ''),
    };
  }
  if (refused.length > 0) return { outcome: 'refused', targets: [], reason: [...refused, ...ignored].join('; ') };
  return { outcome: 'ignored', targets: [], reason: ignored.join('; ') };
}

function routeUpdate(input: RoutingInput, update: RefUpdate): UpdateRoute {
  if (update.ref === null) return { kind: 'refused', reason: 'the push names no ref' };
  const { branch, tag } = parseRef(update.ref);
  const name = branch ?? tag;
  if (name === undefined) return { kind: 'ignored', reason: `ref ${shown(update.ref)} is neither a branch nor a tag` };
  const what = branch !== undefined ? 'branch' : 'tag';
  const problem = refNameProblem(name) ?? (SAFE_NAME.test(name) ? undefined : 'holds a character other than letters, digits and . _ - / + @ #');
  if (problem) return { kind: 'refused', reason: `${what} name refused: it ${problem}: ${shown(name)}` };
  if (update.kind === 'branch_delete' || update.kind === 'tag_delete') {
    return { kind: 'ignored', reason: `${what} ${shown(name)} deleted: nothing to deploy` };
  }
  const commit = update.after?.toLowerCase() ?? null;
  if (commit === null || !isFullCommitSha(commit)) {
    return { kind: 'refused', reason: `the pushed commit id is not a full 40 or 64 hex SHA: ${commit === null ? 'none given' : shown(commit)}` };
  }

  const candidates = branch !== undefined ? branchCandidates(input.config, branch) : tagCandidates(input.config, name);
  if (candidates.length === 0) {
    return {
      kind: 'ignored',
      reason: branch !== undefined ? `no fraise maps branch ${shown(name)}` : `no environment deploys tag ${shown(name)} (an environment opts in with tags: "v*")`,
    };
  }
  const accepted: EnvironmentConfig[] = [];
  const skipped: string[] = [];
  for (const env of candidates) {
    const why = exclusion(input, env);
    if (why) skipped.push(`${env.fraise}/${env.name} ${why}`);
    else accepted.push(env);
  }
  if (accepted.length === 0) {
    return { kind: 'ignored', reason: `${what} ${shown(name)} maps to ${candidates.map(pairName).join(', ')}, but none takes this delivery: ${skipped.join('; ')}` };
  }
  return {
    kind: 'deploy',
    targets: accepted.map((env) => ({ env, branch: branch ?? null, tag: tag ?? null, commit, update })),
    summary: `${what} ${shown(name)} at ${shortSha(commit)} → ${accepted.map(pairName).join(', ')}`,
    skipped,
  };
}

/** `branch_mapping` entries for the branch first, then environments whose `branch` it is. */
function branchCandidates(config: FraisierConfig, branch: string): EnvironmentConfig[] {
  const found: EnvironmentConfig[] = [];
  const add = (env: EnvironmentConfig | undefined) => {
    if (env && !found.includes(env)) found.push(env);
  };
  for (const route of config.routes) {
    if (route.branch === branch) add(findEnvironment(config, route.fraise, route.environment));
  }
  for (const fraise of config.fraises) for (const env of fraise.environments) if (env.branch === branch) add(env);
  return found;
}

function tagCandidates(config: FraisierConfig, tag: string): EnvironmentConfig[] {
  return config.fraises.flatMap((f) => f.environments.filter((env) => env.tags !== undefined && matchesGlob(tag, env.tags)));
}

/** Why this environment does not take this delivery, or undefined when it does. */
function exclusion(input: RoutingInput, env: EnvironmentConfig): string | undefined {
  const fraise = input.config.fraises.find((f) => f.name === env.fraise) as FraiseConfig;
  const wanted = canonicalProviderName(fraise.git?.provider ?? input.config.git.defaultProvider);
  if (wanted !== input.providerName) return `takes ${wanted} deliveries, not ${input.providerName}`;
  const own = fraise.git?.secrets ?? [];
  if (own.length > 0 && !own.includes(input.verifiedWith)) {
    return 'has its own webhook secret, and this delivery was not signed with it';
  }
  if (own.length === 0 && !input.providerSecrets.includes(input.verifiedWith)) {
    return `takes deliveries signed with the ${input.providerName} secret, and this one was signed with another fraise's own secret`;
  }
  const configured = repositoryOf(fraise, env);
  if (configured && !repositoryMatches(configured.locator, input.event.repository)) {
    return `only takes pushes from ${shown(configured.text, 120)}, and this one came from ${shown(describeRepository(input.event.repository), 120)}`;
  }
  if (input.mayDeploy && !input.mayDeploy(env.fraise, env.name)) return 'is not one the caller may deploy';
  return undefined;
}

/** The environment's repository when it can be compared (a URL or owner/name), else the fraise's. */
function repositoryOf(fraise: FraiseConfig, env: EnvironmentConfig) {
  for (const text of [env.repository, fraise.git?.repository]) {
    if (!text) continue;
    const locator = locateRepository(text);
    if (locator) return { text, locator };
  }
  return undefined;
}

/** The configured environment of that name, if any. */
export function findEnvironment(config: FraisierConfig, fraise: string, environment: string): EnvironmentConfig | undefined {
  return config.fraises.find((f) => f.name === fraise)?.environments.find((e) => e.name === environment);
}

function pairName(env: EnvironmentConfig): string {
  return `${env.fraise}/${env.name}`;
}
