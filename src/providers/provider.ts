import type { DeploymentTrace } from '../tracing.js';
import type { z } from 'zod';
import type { EnvironmentConfig, FraiseConfig, JobConfig } from '../config/types.js';
import type { DeploymentControl } from '../deploy/control.js';
import type { HealthStatus, TrafficShare } from '../model.js';

/*
 * A target provider runs fraises somewhere (a server over SSH, Docker Compose, a PaaS). The
 * PRD's interface: deploy, rollback, healthCheck, logs, stop, start. Providers register by name
 * in a per-app registry; users can add their own.
 */

/** What a provider reports while it works: each call is one DeploymentProgress event. */
export interface ProgressReporter {
  /** A step begins (or its status changes); `progress` is the deployment's overall 0..100. */
  step(step: string, progress: number, message?: string): Promise<void>;
  /** A line of output or detail within the current step. */
  log(message: string): Promise<void>;
  /** The traffic moved: where the requests go from now on, with a message saying so. */
  traffic(shares: TrafficShare[], message: string): Promise<void>;
}

/** What a deployment knows when a provider runs it. */
export interface DeployContext {
  deploymentId: string;
  fraise: FraiseConfig;
  env: EnvironmentConfig;
  /** The exact commit to deploy (null: the head of `branch`, resolved by the fetch). */
  commit: string | null;
  /** The commit's committer date (ISO 8601), set by the fetch: where DORA's lead time starts. */
  commitTime?: string;
  /** The deployment's trace when tracing is on: a span per command, TRACEPARENT in their environment. */
  trace?: DeploymentTrace;
  branch: string | null;
  /** The version running before this deployment (null on a first deployment). */
  previousVersion: string | null;
  /** Values from outside (author, message, ...) passed to commands as environment variables only. */
  context: Record<string, string>;
  reporter: ProgressReporter;
  /** Aborted on cancel: stop at the next step, kill the running command. */
  signal: AbortSignal;
  /** Pause, resume and promote, as an operator asks them (strategies hold and check here). */
  control: DeploymentControl;
  /**
   * Marks the point after which an interrupted deployment cannot simply be retried. Call it right
   * before every change of the target: it also checks that this run still holds the target
   * (its fencing generation) and rejects, having stopped the run, when it does not.
   */
  touchTarget(): Promise<void>;
  /**
   * Set when a push asked for this deployment and a commit is deployed: the fetch step refuses
   * (DeploymentSuperseded) a commit older than `deployed`, unless the push moved the branch from
   * `deployed` or a later commit (the branch really went back: a forced push).
   */
  newestCommit?: { deployed: string; before: string | null; target: string };
  /**
   * Fencing generation of this run: grows with every claim of the (fraise, environment), so a
   * host-side lock can tell a newer holder from a stale one. Undefined outside the dispatcher.
   */
  generation?: number;
  /** Which Fraisier process runs it (for host-side locks and messages). */
  instanceId?: string;
  /** Told when a command's process group starts (and null when it ends), to record it. */
  onProcess?: (process: { pgid: number; identity: string | null } | null) => void;
  /** Between SIGTERM and SIGKILL when a command is stopped (short enough to beat the lease). */
  killGraceMs?: number;
}

export interface DeployOutcome {
  /** The version now running (the commit). */
  version: string;
  /** Health of the environment once deployed. */
  health: HealthStatus;
  details?: Record<string, unknown>;
}

/**
 * A deployment that failed after the target was changed, and was rolled back automatically.
 * Providers throw it from `deploy`; the pipeline records ROLLED_BACK with its reason.
 */
export class RolledBackError extends Error {
  constructor(
    readonly reason: string,
    readonly runningVersion: string | null,
    readonly health: HealthStatus,
  ) {
    super(`rolled back: ${reason}`);
    this.name = 'RolledBackError';
  }
}

/** A failure that leaves the environment in a known state (e.g. DOWN when nothing answers). */
export class DeployFailure extends Error {
  constructor(
    message: string,
    readonly health?: HealthStatus,
    readonly runningVersion?: string | null,
  ) {
    super(message);
    this.name = 'DeployFailure';
  }
}

/** What a dry run would deploy: an exact commit, else the head of the branch (or of the repository). */
export interface CheckRequest {
  branch: string | null;
  commit: string | null;
}

export interface CheckResult {
  /** Why the deployment could not run, one sentence each; empty when nothing stands in its way. */
  problems: string[];
  /** The commit the branch points to now, when the check asked the repository. */
  head?: string;
  /** What was asked, for a report that it answered: "application X at https://...". */
  checked?: string;
  /** Which settings to correct when a problem was found. */
  fix?: string;
}

export interface HealthResult {
  status: HealthStatus;
  message: string;
}

export interface TargetContext {
  fraise: FraiseConfig;
  env: EnvironmentConfig;
  signal?: AbortSignal;
}

/**
 * A target provider. `TSettings` is what its schema makes of the `target:` block (without
 * `provider`): the configuration is parsed with `configSchema` once, at load, and the provider
 * reads the result with `settingsOf`.
 */
export interface DeploymentProvider<TSettings = Record<string, unknown>> {
  readonly name: string;
  /** Schema of the settings it accepts under `target:`, `provider` included (null: anything). */
  readonly configSchema: z.ZodObject | null;
  /** The environment's target settings, as the schema parsed them. */
  settingsOf(env: EnvironmentConfig): TSettings;
  /** The steps `deploy` (or a rollback) will run, for plans and dry runs. */
  plan(fraise: FraiseConfig, env: EnvironmentConfig, kind: 'deploy' | 'rollback'): string[];
  /**
   * The command lines a deployment of `commit` would run on the target, as far as they can be
   * told without fetching it (dry runs show them); what would stop it comes back as a line too.
   */
  commands?(fraise: FraiseConfig, env: EnvironmentConfig, commit: string | null): Promise<string[]>;
  /**
   * What would stop a deployment now, asked without changing anything (dry runs): the host
   * reachable, the tools installed, the repository and the branch there. A provider without it
   * is not checked.
   */
  check?(fraise: FraiseConfig, env: EnvironmentConfig, request: CheckRequest): Promise<CheckResult>;
  deploy(ctx: DeployContext): Promise<DeployOutcome>;
  /** Redeploys a recorded version, reusing what was kept of it. */
  rollback(ctx: DeployContext, toVersion: string): Promise<DeployOutcome>;
  /** Runs one job of a scheduled/backup fraise (its output as progress). */
  runJob(ctx: DeployContext, job: JobConfig): Promise<void>;
  healthCheck(ctx: TargetContext): Promise<HealthResult>;
  logs(ctx: TargetContext, lines: number): Promise<string>;
  stop(ctx: TargetContext): Promise<void>;
  start(ctx: TargetContext): Promise<void>;
  /** Which target host a deployment occupies, for the per-host concurrency limit. */
  hostOf(env: EnvironmentConfig): string;
}

/**
 * The settings of a target whose configuration loaded with `provider`'s schema (the registry
 * hands load the schemas of the providers it holds, so a loaded `target:` of this provider was
 * parsed by exactly that schema).
 */
export function loadedSettings<TSettings>(env: EnvironmentConfig): TSettings {
  return env.target.config as TSettings;
}

/**
 * The commit to deploy is older than the one deployed (a push delivered late): the deployment
 * ends SUPERSEDED, before anything changed on the target, with the reason.
 */
export class DeploymentSuperseded extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeploymentSuperseded';
  }
}

/** The deployment was cancelled: it stopped at a step boundary, its command was terminated. */
export class DeploymentCancelled extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'DeploymentCancelled';
  }
}
