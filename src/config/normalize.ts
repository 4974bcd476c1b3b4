import { Cron } from 'croner';
import type { z } from 'zod';
import { type ConfigProblem, formatPath, type PathSegment } from './problems.js';
import {
  type RawConfig,
  type RawDatabase,
  type RawEnvironment,
  type RawFraise,
  type RawHealthCheck,
  type RawJob,
  type RawNginx,
  type RawScaffold,
  type RawService,
  toSeconds,
} from './raw-schema.js';
import {
  BUILTIN_GIT_PROVIDERS,
  DEFAULT_MONITOR,
  type MonitorSettings,
  type BranchRoute,
  type DatabaseConfig,
  type EnvironmentConfig,
  type FraiseConfig,
  type GitConfig,
  type HealthCheckConfig,
  type JobConfig,
  type NginxSiteConfig,
  type NotificationsConfig,
  type ProtectionConfig,
  type ScaffoldSettings,
  type ServiceUnitConfig,
  type TargetConfig,
} from './types.js';
import { normalizeNotifications, normalizeScope } from './notifications.js';
import { normalizeStrategy } from './strategy.js';
import { checkPromotions, normalizeProtection, normalizeSharedProtection, protectionOf } from './protection.js';
import { describeIssues, suggest } from './validate.js';
import { lineOf, type YamlSource } from './yaml-source.js';

export interface NormalizeOptions {
  /** Target providers known to this process, with the schema of their settings (null: any). */
  targetSchemas: Record<string, z.ZodObject | null>;
  /** Git providers known besides the built-in four (registered custom providers). */
  customGitProviders: readonly string[];
  /** Key paths of secrets left unavailable (a configuration loaded to read only). */
  unavailable?: ReadonlySet<string>;
}

export interface Normalized {
  name?: string;
  git: GitConfig;
  fraises: FraiseConfig[];
  routes: BranchRoute[];
  scaffold?: ScaffoldSettings;
  notifications: NotificationsConfig;
  monitor?: MonitorSettings;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DEFAULT_DEPLOY_TIMEOUT_SECONDS = 600;

/** Turns either dialect into one model, and checks what the schema alone cannot. */
export function normalize(
  raw: RawConfig,
  data: unknown,
  source: YamlSource,
  options: NormalizeOptions,
): { config: Normalized; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const report: Report = (severity, path, message, key) =>
    void problems.push({
      severity,
      path: formatPath(key === undefined ? path : [...path, key]),
      line: lineOf(source, path, key),
      message,
    });
  report.issues = (schema, issues, prefix) => void problems.push(...describeIssues(schema, issues, data, source, prefix));

  const git = normalizeGit(raw, options, report);
  const sharedProtection = normalizeSharedProtection(raw, report);
  const fraises: FraiseConfig[] = [];
  for (const [fraiseName, rawFraise] of Object.entries(raw.fraises)) {
    fraises.push(normalizeFraise(fraiseName, rawFraise, raw, options, report, sharedProtection));
  }

  const routes: BranchRoute[] = [];
  for (const [branch, value] of Object.entries(raw.branch_mapping ?? {})) {
    const entries = Array.isArray(value) ? value : [value];
    entries.forEach((entry, index) => {
      const path: PathSegment[] = Array.isArray(value) ? ['branch_mapping', branch, index] : ['branch_mapping', branch];
      const fraiseName = entry.fraise ?? entry.fraise_name;
      if (!fraiseName) return report('error', path, 'names no fraise (write fraise: <name>)');
      if (entry.fraise && entry.fraise_name && entry.fraise !== entry.fraise_name) {
        return report('error', path, `"fraise" and "fraise_name" disagree ("${entry.fraise}" vs "${entry.fraise_name}")`);
      }
      const fraise = fraises.find((f) => f.name === fraiseName);
      if (!fraise) {
        const hint = suggest(fraiseName, fraises.map((f) => f.name));
        return report('error', path, `unknown fraise "${fraiseName}"${hint ? `; did you mean "${hint}"?` : ''}`, entry.fraise ? 'fraise' : 'fraise_name');
      }
      if (!fraise.environments.some((e) => e.name === entry.environment)) {
        const names = fraise.environments.map((e) => e.name);
        const hint = suggest(entry.environment, names);
        return report(
          'error',
          path,
          `fraise "${fraiseName}" has no environment "${entry.environment}"${hint ? `; did you mean "${hint}"?` : ` (it has ${names.join(', ')})`}`,
          'environment',
        );
      }
      routes.push({ branch, fraise: fraiseName, environment: entry.environment });
    });
  }

  const scaffold = raw.scaffold ? normalizeScaffold(raw.scaffold, raw.deployment?.deploy_user) : undefined;
  const notifications = normalizeNotifications(raw, report, options.unavailable ?? new Set());
  let monitor: MonitorSettings | undefined;
  if (raw.monitor) {
    monitor = {
      enabled: raw.monitor.enabled ?? DEFAULT_MONITOR.enabled,
      intervalSeconds: raw.monitor.interval !== undefined ? toSeconds(raw.monitor.interval) : DEFAULT_MONITOR.intervalSeconds,
    };
    if (monitor.intervalSeconds <= 0) report('error', ['monitor'], 'interval must be longer than 0 (e.g. 1m); to stop the monitor, set enabled: false', 'interval');
  }
  return { config: { ...(raw.name ? { name: raw.name } : {}), git, fraises, routes, ...(scaffold ? { scaffold } : {}), ...(monitor ? { monitor } : {}), notifications }, problems };
}

interface Report {
  (severity: ConfigProblem['severity'], path: PathSegment[], message: string, key?: string): void;
  /** Reports zod issues of `schema` validated at `prefix`. */
  issues: (schema: z.ZodType, issues: readonly z.core.$ZodIssue[], prefix: PathSegment[]) => void;
}

function secretList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((s) => s.trim() !== '');
}

function normalizeGit(raw: RawConfig, options: NormalizeOptions, report: Report): GitConfig {
  const providers: GitConfig['providers'] = {};
  for (const name of BUILTIN_GIT_PROVIDERS) {
    const p = raw.git?.[name];
    if (p?.webhook_secret !== undefined && p.secret_token !== undefined) {
      report('error', ['git', name], 'give either webhook_secret or secret_token, not both');
    }
    providers[name] = {
      name,
      ...(p?.base_url ? { baseUrl: p.base_url } : {}),
      secrets: secretList(p?.webhook_secret ?? p?.secret_token),
      ...(p?.server !== undefined ? { server: p.server } : {}),
    };
  }
  const defaultProvider = raw.git?.provider ?? 'github';
  checkGitProvider(defaultProvider, ['git'], 'provider', options, report);
  return { defaultProvider, providers };
}

function checkGitProvider(name: string, path: PathSegment[], key: string, options: NormalizeOptions, report: Report): void {
  const known = [...BUILTIN_GIT_PROVIDERS, ...options.customGitProviders];
  if (known.includes(name)) return;
  const hint = suggest(name, known);
  report('warning', path, `unknown git provider "${name}"${hint ? `; did you mean "${hint}"?` : ` (known: ${known.join(', ')})`}`, key);
}

function normalizeFraise(
  name: string,
  raw: RawFraise,
  root: RawConfig,
  options: NormalizeOptions,
  report: Report,
  sharedProtection: Record<string, ProtectionConfig>,
): FraiseConfig {
  const path: PathSegment[] = ['fraises', name];
  if (raw.git?.provider) checkGitProvider(raw.git.provider, [...path, 'git'], 'provider', options, report);
  if (raw.git?.webhook_secret !== undefined && raw.git.secret_token !== undefined) {
    report('error', [...path, 'git'], 'give either webhook_secret or secret_token, not both');
  }
  const fraise: FraiseConfig = {
    name,
    type: raw.type,
    ...(raw.description ? { description: raw.description } : {}),
    environments: [],
  };
  if (raw.database) fraise.database = normalizeDatabase(raw.database, undefined);
  if (raw.git) {
    fraise.git = {
      ...(raw.git.provider ? { provider: raw.git.provider } : {}),
      ...(raw.git.base_url ? { baseUrl: raw.git.base_url } : {}),
      ...(raw.git.repository ? { repository: raw.git.repository } : {}),
      secrets: secretList(raw.git.webhook_secret ?? raw.git.secret_token),
    };
  }
  const environments = Object.entries(raw.environments);
  if (environments.length === 0) report('error', path, 'declares no environments', 'environments');
  for (const [envName, rawEnv] of environments) {
    const envPath: PathSegment[] = [...path, 'environments', envName];
    if (!NAME.test(envName)) {
      report('error', envPath, 'an environment name is letters, digits, ".", "_" or "-" (at most 64 characters)');
    }
    fraise.environments.push(normalizeEnvironment(fraise, raw, envName, rawEnv, envPath, root, options, report));
    const protection = protectionOf(normalizeProtection(rawEnv.protection, [...envPath, 'protection'], report), sharedProtection[envName]);
    if (protection) fraise.environments[fraise.environments.length - 1]!.protection = protection;
  }
  checkPromotions(fraise, root, report);
  return fraise;
}

function normalizeEnvironment(
  fraise: FraiseConfig,
  rawFraise: RawFraise,
  name: string,
  raw: RawEnvironment,
  path: PathSegment[],
  root: RawConfig,
  options: NormalizeOptions,
  report: Report,
): EnvironmentConfig {
  const target = normalizeTarget(raw, name, path, root, options, report);
  const env: EnvironmentConfig = {
    fraise: fraise.name,
    name,
    target,
    steps: raw.steps?.map((s) => ({ name: s.name, command: s.command })) ?? [],
    jobs: [],
    timeoutSeconds: raw.timeout !== undefined ? toSeconds(raw.timeout) : DEFAULT_DEPLOY_TIMEOUT_SECONDS,
    env: Object.fromEntries(Object.entries(raw.env ?? {}).map(([k, v]) => [k, String(v)])),
  };
  if (raw.name) env.label = raw.name;
  if (raw.branch !== undefined) env.branch = raw.branch;
  if (raw.tags !== undefined) env.tags = raw.tags;
  const repository = raw.git_repo ?? raw.clone_url ?? raw.repository ?? rawFraise.git?.repository;
  if (repository) env.repository = repository;
  const appPath = raw.app_path ?? (typeof target.config.app_path === 'string' ? target.config.app_path : undefined);
  if (appPath) env.appPath = appPath;
  if (raw.script_path) env.scriptPath = raw.script_path;
  if (raw.lock_timeout !== undefined) env.lockTimeoutSeconds = toSeconds(raw.lock_timeout);

  const database = raw.database || rawFraise.database ? normalizeDatabase({ ...rawFraise.database, ...raw.database }, fraise.database) : undefined;
  if (database) env.database = database;
  if (database?.strategy === 'restore_migrate' && !database.commands.restore) {
    if (!database.restore) report('warning', [...path, 'database'], 'strategy restore_migrate restores nothing without restore.backup_dir or restore_command: deployments will stop at migrate');
    else if (!database.name) report('warning', [...path, 'database'], 'restore_migrate runs pg_restore into database.name, and there is none (or give restore_command)');
  }
  const health = mergeHealth(rawFraise.health_check, raw.health_check);
  if (health) env.healthCheck = health;
  const install = raw.install ?? rawFraise.install;
  if (install) env.install = { command: install.command, ...(install.user ? { user: install.user } : {}) };
  const build = raw.build ?? rawFraise.build;
  if (build) env.build = build.command;
  if (raw.compile) env.compile = raw.compile.command;
  if (raw.systemd_deploy_socket) env.deploySocket = raw.systemd_deploy_socket;
  if (raw.service) env.service = normalizeService(raw.service);
  if (raw.nginx) {
    env.nginx = normalizeNginx(raw.nginx);
    if (raw.nginx.ssl_cert && !raw.nginx.ssl_key) report('error', [...path, 'nginx'], 'ssl_cert needs ssl_key too', 'ssl_cert');
    if (raw.nginx.ssl_key && !raw.nginx.ssl_cert) report('error', [...path, 'nginx'], 'ssl_key needs ssl_cert too', 'ssl_key');
  }

  const strategy = normalizeStrategy(raw.strategy, env, fraise.type, path, report);
  if (strategy) env.strategy = strategy;
  const notifications = normalizeScope(raw.notifications, [...path, 'notifications'], report, options.unavailable ?? new Set());
  if (notifications) env.notifications = notifications;
  if (raw.monitor) {
    env.monitor = {
      ...(raw.monitor.enabled !== undefined ? { enabled: raw.monitor.enabled } : {}),
      ...(raw.monitor.interval !== undefined ? { intervalSeconds: toSeconds(raw.monitor.interval) } : {}),
    };
    if (env.monitor.intervalSeconds !== undefined && env.monitor.intervalSeconds <= 0) {
      report('error', [...path, 'monitor'], 'interval must be longer than 0 (e.g. 30s); to stop checking this environment, set enabled: false', 'interval');
    }
  }

  for (const [jobName, rawJob] of Object.entries(raw.jobs ?? {})) {
    env.jobs.push(normalizeJob(jobName, rawJob, [...path, 'jobs', jobName], report));
  }
  checkJobDependencies(env.jobs, [...path, 'jobs'], report);

  if ((fraise.type === 'scheduled' || fraise.type === 'backup') && env.jobs.length === 0) {
    report('warning', path, `a ${fraise.type} fraise without jobs has nothing to run`);
  }
  if (fraise.type === 'custom' && env.steps.length === 0 && target.provider === 'bare-metal') {
    report('warning', path, 'a custom fraise on bare-metal runs the commands listed under "steps", and there are none');
  }
  if (target.provider === 'bare-metal' && !env.appPath && fraise.type !== 'scheduled' && fraise.type !== 'backup') {
    report('warning', path, 'bare-metal target without app_path: deployments will stop at preflight');
  }
  if (target.provider === 'docker-compose') {
    if (!env.appPath) report('warning', path, 'docker-compose target without app_path: deployments will stop at preflight (the releases go there)');
    if (fraise.type !== 'api' && fraise.type !== 'worker') report('warning', path, `docker-compose targets run api and worker fraises; a ${fraise.type} fraise will stop at preflight`);
  }
  return env;
}

function normalizeTarget(
  raw: RawEnvironment,
  envName: string,
  path: PathSegment[],
  root: RawConfig,
  options: NormalizeOptions,
  report: Report,
): TargetConfig {
  if (raw.target) {
    const { provider, ...config } = raw.target;
    if (!(provider in options.targetSchemas)) {
      const known = Object.keys(options.targetSchemas);
      const hint = suggest(provider, known);
      report(
        'warning',
        [...path, 'target'],
        `unknown target provider "${provider}"${hint ? `; did you mean "${hint}"?` : ` (known: ${known.join(', ')})`}`,
        'provider',
      );
      return { provider, config };
    }
    const schema = options.targetSchemas[provider];
    if (!schema) return { provider, config };
    // Parsed once, here: providers read typed settings and never re-check them.
    const result = schema.safeParse(raw.target);
    if (!result.success) {
      report.issues(schema, result.error.issues, [...path, 'target']);
      return { provider, config };
    }
    const { provider: _provider, ...settings } = result.data as Record<string, unknown>;
    if (raw.layout) {
      if (provider !== 'bare-metal') report('error', path, `layout applies to bare-metal targets, not ${provider}`, 'layout');
      else if (settings.layout !== undefined && settings.layout !== raw.layout) report('error', path, `layout: ${raw.layout} disagrees with target.layout: ${String(settings.layout)}`, 'layout');
      else settings.layout = raw.layout;
    }
    return { provider, config: settings };
  }
  // The Python Fraisier's environments: bare metal, on the environment's server (or locally).
  const server = root.environments?.[envName]?.server;
  const config: Record<string, unknown> = {};
  const host = raw.ssh?.host ?? server;
  if (host) config.host = host;
  const user = raw.ssh?.user ?? raw.deploy_user ?? root.deployment?.deploy_user;
  if (user) config.user = user;
  if (raw.ssh?.port) config.port = raw.ssh.port;
  if (raw.ssh?.identity_file) config.identity_file = raw.ssh.identity_file;
  if (raw.ssh?.known_hosts) config.known_hosts = raw.ssh.known_hosts;
  if (raw.ssh?.options) config.ssh_options = raw.ssh.options;
  if (raw.app_path) config.app_path = raw.app_path;
  if (raw.systemd_service) config.systemd_service = raw.systemd_service;
  if (raw.commands) config.commands = raw.commands;
  // The Python Fraisier checked the commit out into app_path, where existing units run from.
  config.layout = raw.layout ?? 'in_place';
  return { provider: 'bare-metal', config };
}

// The defaults are the Python Fraisier's, so that its users' files scaffold the same units.
function normalizeService(raw: RawService): ServiceUnitConfig {
  const service: ServiceUnitConfig = {
    type: raw.type ?? 'exec',
    workers: raw.workers ?? 1,
    execStartPre: raw.exec_start_pre ?? [],
    credentials: raw.credentials ?? {},
    environment: Object.fromEntries(Object.entries(raw.environment ?? {}).map(([k, v]) => [k, String(v)])),
    security: raw.security ?? {},
  };
  if (raw.user) service.user = raw.user;
  if (raw.group) service.group = raw.group;
  if (raw.port) service.port = raw.port;
  if (raw.exec) service.exec = raw.exec;
  if (raw.memory_max) service.memoryMax = raw.memory_max;
  if (raw.memory_high) service.memoryHigh = raw.memory_high;
  if (raw.cpu_quota) service.cpuQuota = raw.cpu_quota;
  if (raw.runtime_directory) service.runtimeDirectory = raw.runtime_directory;
  if (raw.runtime_directory_mode) service.runtimeDirectoryMode = raw.runtime_directory_mode;
  if (raw.logs_directory) service.logsDirectory = raw.logs_directory;
  if (raw.logs_directory_mode) service.logsDirectoryMode = raw.logs_directory_mode;
  if (raw.environment_file) service.environmentFile = raw.environment_file;
  return service;
}

function normalizeNginx(raw: RawNginx): NginxSiteConfig {
  const nginx: NginxSiteConfig = {
    corsOrigins: raw.cors_origins ?? [],
    restrictedPaths: (raw.restricted_paths ?? []).map((p) =>
      typeof p === 'string' ? { path: p, allow: ['127.0.0.1'], deny: 'all' } : { path: p.path, allow: p.allow ?? ['127.0.0.1'], deny: p.deny ?? 'all' },
    ),
  };
  if (raw.server_name) nginx.serverName = raw.server_name;
  if (raw.ssl_cert) nginx.sslCert = raw.ssl_cert;
  if (raw.ssl_key) nginx.sslKey = raw.ssl_key;
  return nginx;
}

function normalizeScaffold(raw: RawScaffold, deploymentUser: string | undefined): ScaffoldSettings {
  const scaffold: ScaffoldSettings = {
    deployUser: raw.deploy_user ?? deploymentUser ?? 'fraisier',
    socketUser: raw.socket_user ?? 'www-data',
    socketGroup: raw.socket_group ?? 'www-data',
    securityHardening: raw.systemd?.security_hardening ?? true,
    memoryMaxDefault: raw.systemd?.memory_max_default ?? '4G',
    nginx: {
      sslProvider: raw.nginx?.ssl_provider ?? 'letsencrypt',
      corsOrigins: raw.nginx?.cors_origins ?? [],
      rateLimit: raw.nginx?.rate_limit ?? '10r/s',
      restrictedPaths: raw.nginx?.restricted_paths ?? [],
    },
  };
  if (raw.output_dir) scaffold.outputDir = raw.output_dir;
  if (raw.config_path) scaffold.configPath = raw.config_path;
  if (raw.deploy_environment_file) scaffold.deployEnvironmentFile = raw.deploy_environment_file;
  return scaffold;
}

function normalizeDatabase(raw: RawDatabase, inherited: DatabaseConfig | undefined): DatabaseConfig {
  const commands: DatabaseConfig['commands'] = { ...inherited?.commands };
  if (raw.migrate_command) commands.migrate = raw.migrate_command;
  if (raw.rebuild_command) commands.rebuild = raw.rebuild_command;
  if (raw.restore_command) commands.restore = raw.restore_command;
  if (raw.backup_command) commands.backup = raw.backup_command;
  const db: DatabaseConfig = {
    type: raw.type ?? inherited?.type ?? 'postgresql',
    strategy: raw.strategy ?? inherited?.strategy ?? 'apply',
    backupBeforeDeploy: raw.backup_before_deploy ?? inherited?.backupBeforeDeploy ?? false,
    commands,
  };
  const name = raw.name ?? inherited?.name;
  if (name) db.name = name;
  const path = raw.path ?? inherited?.path;
  if (path) db.path = path;
  const url = raw.database_url ?? inherited?.url;
  if (url) db.url = url;
  const adminUrl = raw.admin_url ?? inherited?.adminUrl;
  if (adminUrl) db.adminUrl = adminUrl;
  const confiture = raw.confiture_config ?? inherited?.confitureConfig;
  if (confiture) db.confitureConfig = confiture;
  const migrationsDir = raw.migrations_dir ?? inherited?.migrationsDir;
  if (migrationsDir) db.migrationsDir = migrationsDir;
  const restore = raw.restore
    ? { backupDir: raw.restore.backup_dir, pattern: raw.restore.backup_pattern ?? '*.dump', ...(raw.restore.jobs ? { jobs: raw.restore.jobs } : {}), ...(raw.restore.max_age_hours ? { maxAgeHours: raw.restore.max_age_hours } : {}) }
    : inherited?.restore;
  if (restore) db.restore = restore;
  return db;
}

function mergeHealth(fraiseLevel: RawHealthCheck | undefined, envLevel: RawHealthCheck | undefined): HealthCheckConfig | undefined {
  if (!fraiseLevel && !envLevel) return undefined;
  const raw = { ...fraiseLevel, ...envLevel };
  const health: HealthCheckConfig = {
    type: raw.type ?? (raw.url || raw.path ? 'http' : raw.port ? 'tcp' : 'http'),
    timeoutSeconds: raw.timeout !== undefined ? toSeconds(raw.timeout) : 30,
    retries: raw.retries ?? 5,
    intervalSeconds: raw.interval !== undefined ? toSeconds(raw.interval) : 1,
  };
  if (raw.url) health.url = raw.url;
  if (raw.path) health.path = raw.path;
  if (raw.host) health.host = raw.host;
  if (raw.port) health.port = raw.port;
  if (raw.expect_status) health.expectStatus = raw.expect_status;
  if (raw.watch !== undefined && toSeconds(raw.watch) > 0) {
    health.watch = {
      seconds: toSeconds(raw.watch),
      intervalSeconds: raw.watch_interval !== undefined ? toSeconds(raw.watch_interval) : 5,
      failures: raw.watch_failures ?? 1,
    };
  }
  return health;
}

function normalizeJob(name: string, raw: RawJob, path: PathSegment[], report: Report): JobConfig {
  const job: JobConfig = {
    name,
    dependsOn: raw.depends_on === undefined ? [] : Array.isArray(raw.depends_on) ? raw.depends_on : [raw.depends_on],
  };
  if (raw.name) job.label = raw.name;
  if (raw.description) job.description = raw.description;
  if (raw.schedule) {
    job.schedule = raw.schedule;
    try {
      new Cron(raw.schedule, { paused: true });
    } catch (error) {
      report('error', path, `invalid cron schedule "${raw.schedule}": ${(error as Error).message}`, 'schedule');
    }
  }
  if (raw.command) job.command = raw.command;
  const script = raw.script_path ?? raw.script;
  if (script) job.scriptPath = script;
  if (raw.command && script) report('error', path, 'give either command or script_path, not both');
  if (raw.systemd_service) job.systemdService = raw.systemd_service;
  if (raw.systemd_timer) job.systemdTimer = raw.systemd_timer;
  if (raw.retention_days) job.retentionDays = raw.retention_days;
  if (raw.timeout !== undefined) job.timeoutSeconds = toSeconds(raw.timeout);
  return job;
}

function checkJobDependencies(jobs: JobConfig[], path: PathSegment[], report: Report): void {
  const names = jobs.map((j) => j.name);
  for (const job of jobs) {
    for (const dependency of job.dependsOn) {
      if (!names.includes(dependency)) {
        const hint = suggest(dependency, names);
        report('error', [...path, job.name], `depends on unknown job "${dependency}"${hint ? `; did you mean "${hint}"?` : ''}`, 'depends_on');
      }
    }
  }
  // A cycle would mean no job could ever start.
  const state = new Map<string, 'visiting' | 'done'>();
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      report('error', [...path, name], `depends_on forms a cycle: ${[...trail, name].join(' → ')}`, 'depends_on');
      return;
    }
    state.set(name, 'visiting');
    for (const dependency of byName.get(name)?.dependsOn ?? []) if (byName.has(dependency)) visit(dependency, [...trail, name]);
    state.set(name, 'done');
  };
  for (const job of jobs) visit(job.name, []);
}
