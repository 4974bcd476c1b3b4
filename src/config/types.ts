/*
 * The configuration after loading: one shape for both dialects of fraises.yaml (the PRD's and the
 * Python Fraisier's). Everything below is already validated, with env vars expanded.
 */

import type { DestinationSettings, NotificationType } from './notification-schemas.js';
import type { UnavailableSecret } from './unavailable-secrets.js';

export const FRAISE_TYPES = ['api', 'worker', 'etl', 'scheduled', 'backup', 'custom'] as const;
export type FraiseType = (typeof FRAISE_TYPES)[number];

export const BUILTIN_GIT_PROVIDERS = ['github', 'gitlab', 'gitea', 'bitbucket'] as const;
export type BuiltinGitProvider = (typeof BUILTIN_GIT_PROVIDERS)[number];
export function isBuiltinGitProvider(name: string): name is BuiltinGitProvider {
  return (BUILTIN_GIT_PROVIDERS as readonly string[]).includes(name);
}

/** approve: approve or reject deployments waiting on an approvals gate (of the environments the token reaches). */
export const SCOPES = ['read', 'deploy', 'approve', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const MIGRATION_STRATEGIES = ['apply', 'migrate', 'rebuild', 'restore_migrate'] as const;
export type MigrationStrategy = (typeof MIGRATION_STRATEGIES)[number];

/** recreate: the service restarted in place (the default); the others run the new release beside the old one. */
export const STRATEGY_TYPES = ['recreate', 'blue-green', 'rolling', 'canary'] as const;
export type StrategyType = (typeof STRATEGY_TYPES)[number];

export const PROXY_TYPES = ['nginx', 'command'] as const;
export type ProxyType = (typeof PROXY_TYPES)[number];

/** An argv array: the program, then its arguments. Never a shell string. */
export type Command = readonly string[];

export interface TokenConfig {
  name: string;
  /**
   * sha256 (hex) of the token; the plain token is never kept. null: its ${VAR} was not set (a
   * configuration loaded to read only), and it matches no token.
   */
  sha256: string | null;
  scopes: ReadonlySet<Scope>;
  /** When set, the token only reaches these fraises / environments. */
  fraises?: ReadonlySet<string>;
  environments?: ReadonlySet<string>;
  /** Groups the token belongs to: an approvals gate may name a group instead of tokens. */
  groups?: ReadonlySet<string>;
}

export interface ServerSettings {
  host: string;
  port: number;
  databaseUrl: string;
  tokens: TokenConfig[];
  /** Deployments running at once, in all and per target host. */
  concurrency: { global: number; perHost: number };
  webhook: {
    payloadLimitBytes: number;
    /** Deliveries per source IP per window; 0 disables the limit. */
    rateLimit: { requests: number; windowSeconds: number };
    /** Trust X-Forwarded-For from these proxies (true: any). */
    trustProxy: boolean | string[];
    /** Keep the raw payload of recorded deliveries (for audit and replays). */
    storePayload: boolean;
  };
  /** Slow clients are cut: headers within headersMs, the whole request within requestMs. */
  http: { headersTimeoutMs: number; requestTimeoutMs: number };
  /**
   * Above maxBufferedBytes waiting on a WebSocket, sending waits; a socket stuck above it for
   * stallTimeoutMs is dropped. A subscription more than maxQueuedEvents behind is ended.
   */
  websocket: { maxBufferedBytes: number; stallTimeoutMs: number; maxSubscriptions: number; maxQueuedEvents: number };
  /** null: on unless NODE_ENV=production */
  introspection: boolean | null;
  /** The largest GraphQL answer, in bytes of JSON: a larger one is refused with an error. */
  responseLimitBytes: number;
  graphiql: boolean;
  /**
   * Web origins (canonical, `https://ci.example.com`) whose pages may call the API: granted
   * CORS and let through the cross-site check. The server's own origin always may.
   */
  allowedOrigins: string[];
  /**
   * Host names (canonical; `.example.com` for a domain and its subdomains) the server answers
   * to besides loopback ones, against DNS rebinding. Checked on an open API (no tokens), and
   * with tokens when not empty.
   */
  allowedHosts: string[];
  lease: { ttlSeconds: number; heartbeatSeconds: number };
  pollIntervalSeconds: number;
  drainTimeoutSeconds: number;
  logLevel: string;
  instanceId?: string;
  /** The server's address for people (no trailing slash): notifications link its dashboard's pages. */
  publicUrl?: string;
}

export interface GitProviderConfig {
  name: string;
  baseUrl?: string;
  /** Shared secrets; several are accepted at once while one is rotated. Empty: deliveries refused. */
  secrets: string[];
  /** Bitbucket Server / Data Center instead of Bitbucket Cloud. */
  server?: boolean;
}

export interface GitConfig {
  defaultProvider: string;
  providers: Record<string, GitProviderConfig>;
}

export interface DatabaseConfig {
  type: string;
  name?: string;
  path?: string;
  strategy: MigrationStrategy;
  url?: string;
  adminUrl?: string;
  confitureConfig?: string;
  migrationsDir?: string;
  backupBeforeDeploy: boolean;
  /** Overrides of the commands each step runs (argv arrays). */
  commands: { migrate?: Command; rebuild?: Command; restore?: Command; backup?: Command };
  /** restore_migrate: where the dumps are; the newest file matching `pattern` is restored. */
  restore?: { backupDir: string; pattern: string; jobs?: number; maxAgeHours?: number };
}

export interface HealthCheckConfig {
  type: 'http' | 'tcp';
  url?: string;
  path?: string;
  host?: string;
  port?: number;
  timeoutSeconds: number;
  retries: number;
  intervalSeconds: number;
  expectStatus?: number;
  /** After a switch of traffic, the new release is checked every intervalSeconds for seconds; `failures` in a row switch back. */
  watch?: { seconds: number; intervalSeconds: number; failures: number };
}

/** One instance of the service beside the others, on its own port. */
export interface SlotConfig {
  name: string;
  port: number;
}

export type ProxyConfig =
  | {
      type: 'nginx';
      /** Absolute path of the file holding the upstream block. */
      upstreamFile: string;
      upstream: string;
      test: Command;
      reload: Command;
      /** The master's pid file: the reload is seen applied when its workers are new ones. */
      pidFile: string;
    }
  | { type: 'command'; switch: Command };

export interface BlueGreenStrategy {
  type: 'blue-green';
  /** Two, in the order written: the first deployment goes to the first. */
  slots: [SlotConfig, SlotConfig];
  proxy: ProxyConfig;
  drainSeconds: number;
  keepPrevious: boolean;
}

/** Where a canary's requests and errors are read: the proxy's access log, or Prometheus. */
export type CanarySource =
  | { type: 'access_log'; /** Absolute, on the proxy's host, in the fraisier_canary format. */ path: string }
  | {
      type: 'prometheus';
      url: string;
      /** PromQL giving the canary's requests over the window; {slot}, {port}, {upstream}, {window} replaced. */
      requests: string;
      /** PromQL giving the canary's 5xx share (0..1) over the window; the same placeholders. */
      errorRate: string;
    };

export interface CanaryAnalysisConfig {
  source: CanarySource;
  /** The highest 5xx share that passes, 0..1. */
  maxErrorRate: number;
  /** Fewer requests than this in a step's window: inconclusive (held for a person). */
  minRequests: number;
  /** How often the window is measured while a step is held (a failure aborts at once). */
  intervalSeconds: number;
}

/** Blue-green's slots and proxy, the new release taking a growing share of the requests. */
export interface CanaryStrategy extends Omit<BlueGreenStrategy, 'type'> {
  type: 'canary';
  /** The canary's weight at each step, increasing, the last 100. */
  steps: number[];
  /** How long each step is held; null: until promoted (or resumed). */
  pauseSeconds: number | null;
  /** Absent: each step is judged by the canary's health check only. */
  analysis?: CanaryAnalysisConfig;
}

/** The strategies that run the service in two slots behind a proxy. */
export type SlotStrategy = BlueGreenStrategy | CanaryStrategy;

export type StrategyConfig = { type: 'recreate' } | BlueGreenStrategy | CanaryStrategy | RollingStrategy;

export function isSlotStrategy(strategy: StrategyConfig | undefined): strategy is SlotStrategy {
  return strategy?.type === 'blue-green' || strategy?.type === 'canary';
}

/** Where commands run over SSH: a target's settings, as written under `target:`. */
export interface SshTarget {
  host: string;
  user?: string | undefined;
  port?: number | undefined;
  identity_file?: string | undefined;
  known_hosts?: string | undefined;
  ssh_options?: string[] | undefined;
}

/** One host of a rolling deployment. */
export interface RollingHost {
  /** Unique among the hosts: messages, progress and the upstream file's comments name it. */
  name: string;
  /** Where its commands run: its own SSH settings, the target's filling in the rest. */
  ssh: SshTarget;
  /** Where its releases go, when not the environment's app_path. */
  appPath?: string;
  /** Where the proxy reaches its service (and FRAISIER_PORT, the port it listens on). */
  upstream: { host: string; port: number };
}

export interface RollingStrategy {
  type: 'rolling';
  /** In the order written. */
  hosts: RollingHost[];
  /** Hosts out of the upstream at once (a percentage resolved against the hosts): 1 to hosts - 1, or 1 with one host. */
  maxUnavailable: number;
  proxy: ProxyConfig;
  /** Where the proxy's commands run; absent: this machine. */
  proxyHost?: SshTarget;
  drainSeconds: number;
}

export interface JobConfig {
  name: string;
  label?: string;
  description?: string;
  schedule?: string;
  command?: Command;
  scriptPath?: string;
  dependsOn: string[];
  systemdService?: string;
  systemdTimer?: string;
  retentionDays?: number;
  timeoutSeconds?: number;
}

/** The `service:` block: the systemd unit `fraisier scaffold` writes (Python Fraisier keys). */
export interface ServiceUnitConfig {
  type: string;
  user?: string;
  group?: string;
  port?: number;
  workers: number;
  /** ExecStart as written (a systemd command line, not an argv array). */
  exec?: string;
  /** ExecStartPre lines as written: systemd expands their ${...} itself. */
  execStartPre: string[];
  memoryMax?: string;
  memoryHigh?: string;
  cpuQuota?: string;
  runtimeDirectory?: string;
  runtimeDirectoryMode?: string;
  logsDirectory?: string;
  logsDirectoryMode?: string;
  environmentFile?: string;
  /** LoadCredential= name → absolute path. */
  credentials: Record<string, string>;
  environment: Record<string, string>;
  /** Hardening directives in snake_case (protect_system: strict), over the defaults. */
  security: Record<string, string | boolean>;
}

/** The per-environment `nginx:` block: the site `fraisier scaffold` writes. */
export interface NginxSiteConfig {
  serverName?: string;
  sslCert?: string;
  sslKey?: string;
  corsOrigins: string[];
  restrictedPaths: { path: string; allow: string[]; deny: string }[];
}

/** The top-level `scaffold:` block (Python Fraisier keys), with its defaults. */
export interface ScaffoldSettings {
  outputDir?: string;
  deployUser: string;
  socketUser: string;
  socketGroup: string;
  configPath?: string;
  deployEnvironmentFile?: string;
  securityHardening: boolean;
  memoryMaxDefault: string;
  nginx: { sslProvider: string; corsOrigins: string[]; rateLimit: string; restrictedPaths: string[] };
}

export interface TargetConfig {
  provider: string;
  /** Provider settings as written (secrets included: mask before showing). */
  config: Record<string, unknown>;
}

export interface StepCommand {
  name: string;
  command: Command;
}

export interface EnvironmentConfig {
  fraise: string;
  name: string;
  /** The Python Fraisier's `name:` (a label such as api.example.com). */
  label?: string;
  branch?: string;
  /** Tag pushes deploy only when they match this glob (e.g. "v*"). */
  tags?: string;
  /** Where the code is fetched from (git_repo / clone_url / repository). */
  repository?: string;
  appPath?: string;
  target: TargetConfig;
  database?: DatabaseConfig;
  healthCheck?: HealthCheckConfig;
  install?: { command: Command; user?: string };
  build?: Command;
  compile?: Command;
  scriptPath?: string;
  steps: StepCommand[];
  jobs: JobConfig[];
  timeoutSeconds: number;
  lockTimeoutSeconds?: number;
  /** Extra environment variables for every command of this environment. */
  env: Record<string, string>;
  /** The Python Fraisier's deploy socket unit (systemd_deploy_socket). */
  deploySocket?: string;
  service?: ServiceUnitConfig;
  nginx?: NginxSiteConfig;
  /** How a deployment replaces what runs; absent: recreate (restarted in place). */
  strategy?: StrategyConfig;
  /** Its own `notifications:` block (fraises.<f>.environments.<e>.notifications). */
  notifications?: NotificationScope;
  /** Gates a deployment passes before it starts (`protection:`); absent: it starts when its turn comes. */
  protection?: ProtectionConfig;
  /** Its own `monitor:` settings, each over the top level's (absent: the top level's). */
  monitor?: Partial<MonitorSettings>;
}

export interface FraiseGitConfig {
  provider?: string;
  baseUrl?: string;
  repository?: string;
  secrets: string[];
}

export interface FraiseConfig {
  name: string;
  type: FraiseType;
  description?: string;
  database?: DatabaseConfig;
  git?: FraiseGitConfig;
  environments: EnvironmentConfig[];
}

export interface BranchRoute {
  branch: string;
  fraise: string;
  environment: string;
}

/** What a notification is about: a deployment started, ended (three ways), or waits for an operator. */
export const NOTIFICATION_EVENTS = ['started', 'success', 'failure', 'rollback', 'approval'] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** One place a notification goes, as configured. */
export interface NotificationDestination {
  type: NotificationType;
  /** Where it is configured, e.g. notifications.on_failure[0]. */
  path: string;
  /** Where it sends, nothing secret in it (for lists, logs and the API). */
  target: string;
  /** sha256 of its settings: the same destination listed twice is one; a changed URL is another. */
  fingerprint: string;
  /**
   * Its settings, secrets included. Not enumerable: whatever prints or copies the configuration
   * (config show, JSON) never sees them; the channels read them by name.
   */
  readonly settings: DestinationSettings;
  /** A ${VAR} of its secrets was not set (a configuration loaded to read only): it cannot send. */
  unavailable?: true;
}

/** One `notifications:` block: the top level's, an environment name's, or an environment's own. */
export interface NotificationScope {
  /** false: nothing is sent for this scope. */
  enabled: boolean;
  /** false (environments): their lists replace those above instead of adding to them. */
  inherit: boolean;
  lists: Partial<Record<NotificationEvent, NotificationDestination[]>>;
}

export interface NotificationsConfig {
  /** The top-level block (absent: none). */
  top?: NotificationScope;
  /** Top-level environments.<name>.notifications, by environment name (every fraise's). */
  environments: Record<string, NotificationScope>;
  /** A notification not delivered this long after its event is given up (recorded). */
  giveUpAfterSeconds: number;
  /** Backoff between attempts: full jitter under initial·2^n, capped at max (Retry-After wins). */
  retryInitialSeconds: number;
  retryMaxSeconds: number;
  /** One request's time limit. */
  timeoutSeconds: number;
}

export interface MonitorSettings {
  enabled: boolean;
  intervalSeconds: number;
}

export const DEFAULT_MONITOR: MonitorSettings = { enabled: true, intervalSeconds: 60 };

export interface FraisierConfig {
  name?: string;
  /** The file this came from, when it came from a file. */
  path?: string;
  settings: ServerSettings;
  git: GitConfig;
  fraises: FraiseConfig[];
  routes: BranchRoute[];
  /** The `scaffold:` block; absent when the file has none (the defaults apply). */
  scaffold?: ScaffoldSettings;
  /** Where notifications go (notifications: at the top level, per environment name, per environment). */
  notifications: NotificationsConfig;
  /** The `monitor:` block: every deployed environment checked every interval. Absent: on, every minute. */
  monitor?: MonitorSettings;
  /**
   * Secrets left out because their ${VAR} is not set (loaded with `secrets: 'deferred'`, to read
   * only); absent when every secret was loaded. See requireSecrets.
   */
  unavailableSecrets?: UnavailableSecret[];
}

/*
 * Protection rules (`protection:` of an environment): gates a deployment passes before it
 * starts. Evaluated by src/gates/evaluate.ts; see docs/gates.md.
 */

export interface ApprovalRule {
  /** Distinct approvers needed (at least 1). */
  required: number;
  /** Token names or token groups that may approve; empty: any token with the approve scope that reaches the environment. */
  approvers: string[];
  /** May the one who asked for the deployment approve it? (default false) */
  selfApproval: boolean;
  /** Not approved this long after it began to wait: it ends CANCELLED (default 24 h). */
  timeoutSeconds: number;
  /** A newer push superseding a waiting deployment takes its approvals over (default false). */
  carryApprovals: boolean;
}

/** A weekly window in a time zone: on `days` from `from` to `to` local time (`to` before `from`: past midnight). */
export interface DeployWindow {
  /** ISO weekday numbers, 1 = Monday … 7 = Sunday. */
  days: number[];
  /** "HH:MM", local time in `timezone`. */
  from: string;
  to: string;
  /** An IANA zone such as Europe/Paris (default UTC). */
  timezone: string;
}

/** No deployment from `from` to `to` (instants, ISO 8601), except one forced by an admin token. */
export interface FreezePeriod {
  from: string;
  to: string;
  reason: string;
}

export interface PromotionRule {
  /** The environment (of the same fraise) the commit must have succeeded in first. */
  from: string;
  /** How long it must have run there, healthy, since its SUCCESS (0: at once). */
  soakSeconds: number;
}

/** What a deployment does when a gate that time alone does not open is closed: wait for it, or end refused. */
export type GateMiss = 'wait' | 'refuse';

export interface ProtectionConfig {
  approvals?: ApprovalRule;
  /** Deploy only within one of these (empty: any time). */
  windows: DeployWindow[];
  /** Outside every window: wait for the next one (default) or end refused. */
  onOutside: GateMiss;
  freezes: FreezePeriod[];
  promotion?: PromotionRule;
  /** Promotion not satisfied: wait for it (default) or end refused. */
  onPromotionMissing: GateMiss;
  /** A delay after the request before it may start (cancellable like any waiting deployment). */
  waitTimerSeconds?: number;
}
