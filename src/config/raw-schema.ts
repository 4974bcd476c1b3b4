import { z } from 'zod';
import { NOTIFICATION_TYPES } from './notification-schemas.js';
import { FRAISE_TYPES, MIGRATION_STRATEGIES, PROXY_TYPES, SCOPES, STRATEGY_TYPES } from './types.js';

/*
 * The shape of fraises.yaml as written, in both dialects (the PRD's and the Python Fraisier's).
 * Objects are strict so that a typo is reported (with the closest known key) instead of being
 * dropped. Keys Fraisier knows but does not act on yet are `unused()`: they load, and
 * `config validate` lists them. The JSON Schema in compiled/fraises.schema.json is printed from
 * this file.
 */

export const UNUSED_DESCRIPTION = 'Known, loaded and kept, but not acted on by this version of Fraisier.';

/** A key Fraisier accepts but does not act on yet; `note` says why, or what does its work here. */
const unused = (note?: string) => z.any().optional().describe(note ? `${UNUSED_DESCRIPTION} ${note}` : UNUSED_DESCRIPTION);

/** The same, for a key whose value is still checked (its type). */
function unusedChecked<T extends z.ZodType>(schema: T, note: string) {
  return schema.optional().describe(`${UNUSED_DESCRIPTION} ${note}`);
}

const BASE_URL_NOTE = 'Deliveries are matched by their signature and repository; Fraisier calls no Git host API, so it needs no base URL.';

const DURATION_ERROR = 'expected seconds (a number) or a duration such as "30s", "5m", "1h"';
const duration = z.union(
  [z.number({ error: DURATION_ERROR }).nonnegative(), z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h)$/, { error: DURATION_ERROR })],
  { error: DURATION_ERROR },
);

const SIZE_ERROR = 'expected a number of bytes or a size such as "1MiB", "512KiB"';
const size = z.union(
  [z.number({ error: SIZE_ERROR }).int().positive(), z.string().regex(/^\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB)$/i, { error: SIZE_ERROR })],
  { error: SIZE_ERROR },
);

const argv = z
  .array(z.string().min(1, { error: 'an argument cannot be empty' }), {
    error: 'expected a command as a list of arguments, e.g. [npm, ci]',
  })
  .min(1, { error: 'a command needs at least the program name' });

const secrets = z.union([z.string(), z.array(z.string())], {
  error: 'expected a secret, or a list of secrets (several are accepted while one is rotated)',
});

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
  error: 'expected a name of letters, digits, ".", "_" or "-" (at most 64 characters)',
});

const healthCheck = z.strictObject({
  type: z.enum(['http', 'tcp']).optional(),
  url: z.string().optional(),
  path: z.string().optional(),
  host: z.string().optional(),
  port: z.number().int().min(1).max(65535).optional(),
  timeout: duration.optional(),
  retries: z.number().int().min(0).max(100).optional(),
  interval: duration.optional(),
  expect_status: z.number().int().min(100).max(599).optional(),
  /** After the cutover (recreate's health check, blue-green's switch) the new release is checked for this long; a failure rolls back. */
  watch: duration.optional(),
  watch_interval: duration.optional(),
  /** Consecutive failed checks in the watch window that roll back (default 1). */
  watch_failures: z.number().int().min(1).max(100).optional(),
});

const PORT_ERROR = 'expected a port, 1 to 65535';
const slotPort = z.number({ error: PORT_ERROR }).int({ error: PORT_ERROR }).min(1, { error: PORT_ERROR }).max(65535, { error: PORT_ERROR });
const slotName = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, {
  error: 'expected a slot name of lowercase letters, digits, "-" or "_", starting with a letter (at most 32 characters)',
});

/**
 * What switches traffic between slots: nginx (an upstream file rewritten, tested, reloaded) or a
 * command of your own (HAProxy's socket, Caddy's API, a Traefik file) told the slots in variables.
 */
const proxy = z.strictObject({
  type: z.enum(PROXY_TYPES),
  /** nginx: the file holding the upstream block (absolute), included by the site. */
  upstream_file: z.string().min(1).optional(),
  /** nginx: the upstream block's name, as the site's proxy_pass names it. */
  upstream: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'expected an upstream name of letters, digits, ".", "_" or "-"' })
    .optional(),
  test: argv.optional(),
  reload: argv.optional(),
  /** nginx: its master's pid file, to see the reload applied (default /run/nginx.pid). */
  pid_file: z.string().min(1).optional(),
  /** command: run with FRAISIER_SLOT, FRAISIER_PORT and FRAISIER_UPSTREAMS set. */
  switch: argv.optional(),
  /** rolling: the host the proxy runs on, over SSH (default: this machine); the target's SSH settings fill in the rest. */
  host: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
  /** rolling: the proxy host's SSH port. */
  port: slotPort.optional(),
  identity_file: z.string().min(1).optional(),
  known_hosts: z.string().min(1).optional(),
  ssh_options: z.array(z.string()).optional(),
});

const CANARY_STEP_ERROR = 'expected a percentage of the requests, 1 to 100';
const PAUSE_ERROR = `${DURATION_ERROR}, or until_promoted`;

/** A canary's analysis: its requests and 5xx share, from nginx's access log or from Prometheus. */
const canaryAnalysis = z.strictObject({
  source: z.enum(['access_log', 'prometheus']),
  /** access_log: the log nginx writes in the fraisier_canary format (absolute, on the proxy's host). */
  path: z.string().min(1).optional(),
  /** access_log: the documented format, the only one read. */
  format: z.literal('fraisier_canary', { error: 'the access log must be in the documented format: fraisier_canary' }).optional(),
  /** prometheus: the server's base URL. */
  url: z.string().min(1).optional(),
  /** prometheus: PromQL for the canary's requests over the window ({slot}, {port}, {upstream}, {window}). */
  requests: z.string().min(1).optional(),
  /** prometheus: PromQL for the canary's 5xx share over the window, 0 to 1 (same placeholders). */
  error_rate: z.string().min(1).optional(),
  max_error_rate: z.number({ error: 'expected a share from 0 to 1 (0.05 for 5%)' }).optional(),
  min_requests: z.number({ error: 'expected a whole number of requests, 1 or more' }).optional(),
  /** How often a held step is measured (a failure aborts at once); default 10s. */
  interval: duration.optional(),
});

const MAX_UNAVAILABLE_ERROR = 'expected a number of hosts (1 or more) or a share of them such as "34%"';

/** How a deployment replaces what runs: in place (recreate), beside it (blue-green, canary), or host by host (rolling). */
const strategy = z.strictObject({
  type: z.enum(STRATEGY_TYPES),
  slots: z.record(slotName, slotPort).optional(),
  proxy: proxy.optional(),
  /** Between the switch (rolling: taking hosts out) and stopping what served, for the requests it still answers. */
  drain: duration.optional(),
  /** The old slot keeps running after the switch: a rollback then only switches back. */
  keep_previous: z.boolean().optional(),
  /** canary: the new release's share of the requests at each step, increasing, ending at 100. */
  steps: z.array(z.number({ error: CANARY_STEP_ERROR }), { error: 'expected a list of percentages, e.g. [10, 50, 100]' }).optional(),
  /** canary: how long each step is held before its analysis; until_promoted (or null): until promoted. */
  pause: z
    .union(
      [
        z.number({ error: PAUSE_ERROR }).nonnegative({ error: PAUSE_ERROR }),
        z.string().regex(/^(\d+(\.\d+)?\s*(ms|s|m|h)|until_promoted)$/, { error: PAUSE_ERROR }),
        z.null(),
      ],
      { error: PAUSE_ERROR },
    )
    .optional(),
  /** canary: what judges each step: the canary's error rate from the access log or Prometheus. */
  analysis: canaryAnalysis.optional(),
  /** rolling: how many hosts are out of the upstream at once (default 1): a number, or a share of the hosts ("34%", rounded down, at least 1). */
  max_unavailable: z
    .union(
      [
        z.number({ error: MAX_UNAVAILABLE_ERROR }).int({ error: MAX_UNAVAILABLE_ERROR }).min(1, { error: MAX_UNAVAILABLE_ERROR }),
        z.string().regex(/^(100|[1-9]?\d)(\.\d+)?%$/, { error: MAX_UNAVAILABLE_ERROR }),
      ],
      { error: MAX_UNAVAILABLE_ERROR },
    )
    .optional(),
  /** rolling: the port the service listens on, on every host (the proxy reaches HOST:port unless a host's `upstream` says otherwise). */
  port: slotPort.optional(),
});

/**
 * restore_migrate's backup: the newest file matching backup_pattern in backup_dir (by
 * modification time, as the Python Fraisier chose it) is restored, then migrated.
 */
const restore = z.strictObject({
  backup_dir: z.string().min(1, { error: 'the directory holding the dumps to restore' }),
  backup_pattern: z.string().min(1).optional(),
  jobs: z.number().int().min(1).max(64).optional(),
  max_age_hours: z.number().positive().optional(),
  max_actuation_age_hours: unused(),
  target_owner: unused('Restore with database.restore_command to change owners after the restore.'),
  create_template: unused(),
  template_name: unused(),
  min_tables: unused(),
  preferred_compression: unused(),
});

const database = z.strictObject({
  type: z.string().optional(),
  name: z.string().optional(),
  path: z.string().optional(),
  strategy: z.enum(MIGRATION_STRATEGIES).optional(),
  database_url: z.string().optional(),
  admin_url: z.string().optional(),
  confiture_config: z.string().optional(),
  migrations_dir: z.string().optional(),
  backup_before_deploy: z.boolean().optional(),
  migrate_command: argv.optional(),
  rebuild_command: argv.optional(),
  restore_command: argv.optional(),
  backup_command: argv.optional(),
  restore: restore.optional(),
  hooks: unused(),
  allow_destructive: unused(),
  create_template: unused(),
  app_version: unused(),
  pre_migrate_dump: unused(),
  post_migrate_check: unused(),
  post_migrate: unused(),
  preflight: unused(),
});

const install = z.strictObject({
  command: argv,
  user: z.string().optional(),
});

const commandBlock = z.strictObject({ command: argv });

const job = z.strictObject({
  name: z.string().optional(),
  description: z.string().optional(),
  schedule: z.string().optional(),
  command: argv.optional(),
  script: z.string().optional(),
  script_path: z.string().optional(),
  systemd_service: unusedChecked(
    z.string(),
    'A job runs its command or script_path (and its systemd_timer is enabled at deployment); Fraisier does not start this unit itself.',
  ),
  systemd_timer: z.string().optional(),
  depends_on: z.union([z.string(), z.array(z.string())]).optional(),
  retention_days: unusedChecked(z.number().int().positive(), 'Fraisier prunes nothing a job writes: prune old files in the job itself.'),
  timeout: duration.optional(),
});

const ssh = z.strictObject({
  host: z.string().optional(),
  user: z.string().optional(),
  port: z.number().int().min(1).max(65535).optional(),
  identity_file: z.string().optional(),
  known_hosts: z.string().optional(),
  options: z.array(z.string()).optional(),
});

/** A target: the provider's name plus its settings, checked against that provider's schema. */
const target = z.looseObject({ provider: z.string().min(1) });

const step = z.strictObject({ name: z.string().min(1), command: argv });

const serviceCommands = z.strictObject({
  restart: argv.optional(),
  start: argv.optional(),
  stop: argv.optional(),
  status: argv.optional(),
  logs: argv.optional(),
});

/** The Python Fraisier's `service:` block: what `fraisier scaffold` writes into the systemd unit. */
const service = z.strictObject({
  type: z.enum(['simple', 'exec', 'forking', 'oneshot', 'dbus', 'notify', 'notify-reload', 'idle']).optional(),
  user: z.string().optional(),
  group: z.string().optional(),
  port: z.number().int().min(1).max(65535).optional(),
  workers: z.number().int().min(1).optional(),
  /** ExecStart, a command line as systemd reads it (kept as written). */
  exec: z.string().optional(),
  exec_start_pre: z.array(z.string()).optional(),
  memory_max: z.string().regex(/^\d+[KMGT]$/, { error: 'expected a size such as "512M" or "4G"' }).optional(),
  memory_high: z.string().regex(/^\d+[KMGT]$/, { error: 'expected a size such as "512M" or "4G"' }).optional(),
  cpu_quota: z.string().regex(/^\d+%$/, { error: 'expected a percentage such as "200%"' }).optional(),
  runtime_directory: z.string().optional(),
  runtime_directory_mode: z.string().regex(/^0?[0-7]{3}$/, { error: 'expected an octal mode such as "0755"' }).optional(),
  logs_directory: z.string().optional(),
  logs_directory_mode: z.string().regex(/^0?[0-7]{3}$/, { error: 'expected an octal mode such as "0755"' }).optional(),
  environment_file: z.string().optional(),
  credentials: z.record(z.string(), z.string().startsWith('/', { error: 'expected an absolute path' })).optional(),
  environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  security: z.record(z.string(), z.union([z.string(), z.boolean()])).optional(),
});

const restrictedPath = z.union([
  z.string(),
  z.strictObject({ path: z.string(), allow: z.array(z.string()).optional(), deny: z.string().optional() }),
]);

/** The Python Fraisier's per-environment `nginx:` block: the site `fraisier scaffold` writes. */
const nginx = z.strictObject({
  server_name: z.string().optional(),
  ssl_cert: z.string().optional(),
  ssl_key: z.string().optional(),
  cors_origins: z.array(z.string()).optional(),
  restricted_paths: z.array(restrictedPath).optional(),
});

/** The Python Fraisier's top-level `scaffold:` block. */
const scaffold = z.strictObject({
  output_dir: z.string().optional(),
  deploy_user: z.string().optional(),
  socket_user: z.string().optional(),
  socket_group: z.string().optional(),
  config_path: z.string().optional(),
  deploy_environment_file: z.string().optional(),
  systemd: z.strictObject({ security_hardening: z.boolean().optional(), memory_max_default: z.string().optional() }).optional(),
  nginx: z
    .strictObject({
      ssl_provider: z.string().optional(),
      cors_origins: z.array(z.string()).optional(),
      rate_limit: z.string().regex(/^\d+r\/[sm]$/, { error: 'expected a rate such as "10r/s"' }).optional(),
      restricted_paths: z.array(z.string()).optional(),
      gateway_fraise: unused(),
    })
    .optional(),
  github_actions: unused(),
  template_dir: unused(),
});

/**
 * One destination of a notification list: its type here, its settings checked against that
 * type's schema when the configuration is normalized (notification-schemas.ts).
 */
const destination = z.looseObject({ type: z.enum(NOTIFICATION_TYPES) });

/** A list of destinations; the Python Fraisier's per-environment script path loads (and is not run). */
const notificationList = z.union([z.array(destination, { error: 'expected a list of destinations, e.g. [{type: slack, webhook_url: "${SLACK_WEBHOOK_URL}"}]' }), z.string(), z.null()]);

const LEGACY_NOTIFICATION_NOTE = 'Destinations are listed by event: on_failure: [{type: slack, webhook_url: ...}].';

/** The lists by event, and the switches an environment may set. */
const notificationLists = {
  on_started: notificationList.optional(),
  on_success: notificationList.optional(),
  on_failure: notificationList.optional(),
  on_rollback: notificationList.optional(),
  on_approval: notificationList.optional(),
  /** false: nothing is sent for this scope (an environment: nor from the lists above it). */
  enabled: z.boolean().optional(),
  /** false: an environment's own lists replace the top-level ones instead of adding to them. */
  inherit: z.boolean().optional(),
  // Shapes some Python Fraisier files carry (a mapping by channel name), never read by it either.
  slack: unused(LEGACY_NOTIFICATION_NOTE),
  discord: unused(LEGACY_NOTIFICATION_NOTE),
  teams: unused(LEGACY_NOTIFICATION_NOTE),
  email: unused(LEGACY_NOTIFICATION_NOTE),
  webhook: unused(LEGACY_NOTIFICATION_NOTE),
  slack_channel: unused(LEGACY_NOTIFICATION_NOTE),
};

const environmentNotifications = z.strictObject(notificationLists);

/** Continuous health: every deployed environment checked every interval (default 1m); an environment may set its own. */
const monitor = z.strictObject({ interval: duration.optional(), enabled: z.boolean().optional() });

/** The top level also says how long a notification is retried and how long one request may take. */
const topNotifications = z.strictObject({
  ...notificationLists,
  give_up_after: duration.optional(),
  retry_initial: duration.optional(),
  retry_max: duration.optional(),
  timeout: duration.optional(),
});

const TIME_ERROR = 'expected a time "HH:MM", 00:00 to 23:59 (quoted: "09:00")';
const END_TIME_ERROR = 'expected a time "HH:MM", 00:00 to 24:00 (quoted: "17:00")';
const DAYS_ERROR = 'expected days such as mon-fri, "sat,sun", [mon, wed] or daily';
const INSTANT_ERROR = 'expected an instant with its offset, such as 2026-12-20T00:00:00+01:00, or a date (midnight UTC)';
const GATE_MISS_ERROR = 'expected wait (the deployment waits for it) or refuse (it ends cancelled)';
const gateMiss = z.enum(['wait', 'refuse'], { error: GATE_MISS_ERROR });

/**
 * Gates a deployment of the environment passes before it starts: approvals, deploy windows,
 * freezes, promotion from another environment, a wait timer. Under the top-level
 * environments.<name>, for every fraise's environment of that name (its own block replaces it).
 */
const protection = z.strictObject({
  /** The deployment waits (WAITING) for `required` distinct approvers; one rejection cancels it. */
  approvals: z
    .strictObject({
      required: z.number({ error: 'expected a number of approvers, 1 or more' }).int({ error: 'expected a whole number of approvers' }).min(1, { error: 'at least 1 approver' }).optional(),
      /** Token names or token groups; none listed: any token with the approve scope reaching the environment. */
      approvers: z.array(z.string().min(1), { error: 'expected a list of token names or groups, e.g. [alice, release-managers]' }).optional(),
      self_approval: z.boolean().optional(),
      /** Not approved this long after it began to wait: cancelled (default 24h). */
      timeout: duration.optional(),
      /** A newer push superseding a waiting deployment takes its approvals over (default false). */
      carry_approvals: z.boolean().optional(),
    })
    .optional(),
  /** Deploy only within one of these (weekly, on the wall clock of their zone). */
  windows: z
    .array(
      z.strictObject({
        days: z.union([z.string(), z.array(z.string())], { error: DAYS_ERROR }),
        from: z.string({ error: TIME_ERROR }).regex(/^([01]?\d|2[0-3]):[0-5]\d$/, { error: TIME_ERROR }),
        /** Before `from`: the window runs past midnight. */
        to: z.string({ error: END_TIME_ERROR }).regex(/^(([01]?\d|2[0-3]):[0-5]\d|24:00)$/, { error: END_TIME_ERROR }),
        /** An IANA zone such as Europe/Paris (default UTC). */
        timezone: z.string().min(1).optional(),
      }),
      { error: 'expected a list of windows, e.g. [{days: mon-fri, from: "09:00", to: "17:00", timezone: Europe/Paris}]' },
    )
    .optional(),
  /** Outside every window: wait for the next one (default) or refuse. */
  on_outside: gateMiss.optional(),
  /** Nothing deploys from `from` to `to`, except a forced deployment by an admin token. */
  freeze: z
    .array(
      z.strictObject({
        from: z.string({ error: INSTANT_ERROR }),
        to: z.string({ error: INSTANT_ERROR }),
        reason: z.string().optional(),
      }),
      { error: 'expected a list of freezes, e.g. [{from: 2026-12-20T00:00:00+01:00, to: 2027-01-04T00:00:00+01:00, reason: holidays}]' },
    )
    .optional(),
  /** A commit deploys here only after it succeeded in `from` and ran there healthy for `soak`. */
  promotion: z
    .strictObject({
      from: z.string().min(1),
      soak: duration.optional(),
      /** Never deployed there, another commit runs there, or not healthy: wait (default) or refuse. */
      on_missing: gateMiss.optional(),
    })
    .optional(),
  /** A delay after the request before the deployment may start. */
  wait_timer: duration.optional(),
});

const environment = z.strictObject({
  // PRD dialect
  target: target.optional(),
  // both
  database: database.optional(),
  jobs: z.record(z.string(), job).optional(),
  health_check: healthCheck.optional(),
  install: install.optional(),
  strategy: strategy.optional(),
  // Python Fraisier dialect
  name: z.string().optional(),
  branch: z.string().optional(),
  tags: z.string().optional(),
  git_repo: z.string().optional(),
  clone_url: z.string().optional(),
  repository: z.string().optional(),
  app_path: z.string().optional(),
  systemd_service: z.string().optional(),
  systemd_deploy_socket: unusedChecked(
    z.string(),
    'Deployments run inside `fraisier serve` (or `fraisier deploy`), not through the Python Fraisier\'s socket-activated deploy daemon.',
  ),
  deploy_user: z.string().optional(),
  ssh: ssh.optional(),
  timeout: duration.optional(),
  lock_timeout: unusedChecked(
    duration,
    'A deployment never waits on a held lock here: deployments of one environment wait their turn in the queue, each bounded by `timeout`.',
  ),
  script_path: z.string().optional(),
  build: commandBlock.optional(),
  compile: commandBlock.optional(),
  steps: z.array(step).optional(),
  commands: serviceCommands.optional(),
  /** in_place: the commit checked out into app_path (the Python Fraisier's way, its default); releases: releases/<commit> + current. */
  layout: z.enum(['in_place', 'releases']).optional(),
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  notifications: environmentNotifications.optional(),
  /** This environment's health checked every interval of its own, or not at all (enabled: false). */
  monitor: monitor.optional(),
  protection: protection.optional(),
  service: service.optional(),
  nginx: nginx.optional(),
  smoke_tests: unused(),
  allow_destructive: unused(),
});

const fraiseGit = z.strictObject({
  provider: z.string().optional(),
  base_url: unusedChecked(z.string(), BASE_URL_NOTE),
  repository: z.string().optional(),
  webhook_secret: secrets.optional(),
  secret_token: secrets.optional(),
});

const fraise = z.strictObject({
  type: z.enum(FRAISE_TYPES),
  description: z.string().optional(),
  database: database.optional(),
  health_check: healthCheck.optional(),
  install: install.optional(),
  build: commandBlock.optional(),
  git: fraiseGit.optional(),
  environments: z.record(z.string(), environment),
});

const mappingEntry = z.strictObject({
  fraise: z.string().optional(),
  fraise_name: z.string().optional(),
  environment: z.string(),
});

const gitProvider = z.strictObject({
  base_url: unusedChecked(z.string(), BASE_URL_NOTE),
  webhook_secret: secrets.optional(),
  secret_token: secrets.optional(),
  server: unusedChecked(
    z.boolean(),
    'Bitbucket Cloud and Server deliveries are told apart by their event (repo:push or repo:refs_changed), whatever this says.',
  ),
});

const token = z.strictObject({
  name: z.string().min(1),
  token: z.string().min(16, { error: 'a token needs at least 16 characters' }).optional(),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, { error: 'expected the token\'s sha256 as 64 hex characters' })
    .optional(),
  scopes: z.array(z.enum(SCOPES)).min(1),
  fraises: z.array(z.string()).optional(),
  environments: z.array(z.string()).optional(),
  /** Groups the token belongs to: an approvals gate may name a group instead of each token. */
  groups: z.array(name).optional(),
});

const listen = z.union(
  [
    z.string(),
    z.number().int().min(0).max(65535),
    z.strictObject({ host: z.string().optional(), port: z.number().int().min(0).max(65535).optional() }),
  ],
  { error: 'expected "host:port", a port number, or {host, port}' },
);

const fraisierSettings = z.strictObject({
  listen: listen.optional(),
  database: z.string().optional(),
  tokens: z.array(token).optional(),
  concurrency: z
    .union([
      z.number().int().min(1),
      z.strictObject({ global: z.number().int().min(1).optional(), per_host: z.number().int().min(1).optional() }),
    ])
    .optional(),
  payload_limit: size.optional(),
  webhook: z
    .strictObject({
      payload_limit: size.optional(),
      rate_limit: z
        .union([
          z.literal(false),
          z.strictObject({ requests: z.number().int().min(1), per: duration.optional() }),
        ])
        .optional(),
      trust_proxy: z.union([z.boolean(), z.array(z.string())]).optional(),
      store_payload: z.boolean().optional(),
    })
    .optional(),
  http: z
    .strictObject({
      headers_timeout: duration.optional(),
      request_timeout: duration.optional(),
    })
    .optional(),
  websocket: z
    .strictObject({
      max_buffered: size.optional(),
      stall_timeout: duration.optional(),
      max_subscriptions: z.number().int().min(1).optional(),
      max_queued_events: z.number().int().min(100).optional(),
    })
    .optional(),
  introspection: z.boolean().optional(),
  response_limit: size.optional(),
  graphiql: z.boolean().optional(),
  allowed_origins: z.array(z.string()).optional(),
  allowed_hosts: z.array(z.string()).optional(),
  lease: z.strictObject({ ttl: duration.optional(), heartbeat: duration.optional() }).optional(),
  poll_interval: duration.optional(),
  drain_timeout: duration.optional(),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  instance_id: z.string().optional(),
  /** Where people reach this server (its dashboard): links in notifications point there. */
  public_url: z.string().optional(),
});

export const rawConfigSchema = z.strictObject({
  name: z.string().optional(),
  fraisier: fraisierSettings.optional(),
  git: z
    .strictObject({
      provider: z.string().optional(),
      github: gitProvider.optional(),
      gitlab: gitProvider.optional(),
      gitea: gitProvider.optional(),
      bitbucket: gitProvider.optional(),
    })
    .optional(),
  fraises: z.record(name, fraise),
  branch_mapping: z.record(z.string(), z.union([mappingEntry, z.array(mappingEntry)])).optional(),
  environments: z
    .record(
      z.string(),
      z.strictObject({
        server: z.string().optional(),
        log_dir: unusedChecked(
          z.string(),
          'Deployment logs are kept in the store (fraisier logs); a service\'s own logs come from journalctl or commands.logs.',
        ),
        notifications: environmentNotifications.optional(),
        protection: protection.optional(),
      }),
    )
    .optional(),
  deployment: z
    .strictObject({
      lock_dir: unused(),
      lock_backend: unused(),
      lock_db_path: unused(),
      deploy_user: z.string().optional(),
      strategies: unused(),
      timeouts: unused(),
    })
    .optional(),
  notifications: topNotifications.optional(),
  /** Continuous health: every deployed environment checked every interval (default 1m). */
  monitor: monitor.optional(),
  hooks: unused(),
  health: unused(),
  scaffold: scaffold.optional(),
  ship: unused(),
  webhook: unused(),
  backup: unused(),
});

export type RawConfig = z.infer<typeof rawConfigSchema>;
export type RawFraise = z.infer<typeof fraise>;
export type RawEnvironment = z.infer<typeof environment>;
export type RawDatabase = z.infer<typeof database>;
export type RawRestore = z.infer<typeof restore>;
export type RawHealthCheck = z.infer<typeof healthCheck>;
export type RawStrategy = z.infer<typeof strategy>;
export type RawJob = z.infer<typeof job>;
export type RawService = z.infer<typeof service>;
export type RawNginx = z.infer<typeof nginx>;
export type RawScaffold = z.infer<typeof scaffold>;
export type RawNotifications = z.infer<typeof topNotifications>;
export type RawEnvironmentNotifications = z.infer<typeof environmentNotifications>;
export type RawProtection = z.infer<typeof protection>;
export type RawSettings = z.infer<typeof fraisierSettings>;
export type RawDuration = z.infer<typeof duration>;
export type RawSize = z.infer<typeof size>;

/** Seconds from a number or "30s" / "5m" / "1h" / "250ms". */
export function toSeconds(value: RawDuration): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(value);
  if (!match) throw new Error(`not a duration: ${value}`);
  const n = Number(match[1]);
  const unit = match[2];
  return unit === 'ms' ? n / 1000 : unit === 'm' ? n * 60 : unit === 'h' ? n * 3600 : n;
}

/** Bytes from a number or "1MiB" / "512KiB" / "1MB". */
export function toBytes(value: RawSize): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB)$/i.exec(value);
  if (!match) throw new Error(`not a size: ${value}`);
  const n = Number(match[1]);
  const unit = (match[2] ?? 'B').toLowerCase();
  const factor = unit === 'kib' ? 1024 : unit === 'kb' ? 1000 : unit === 'mib' ? 1024 * 1024 : unit === 'mb' ? 1_000_000 : 1;
  return Math.floor(n * factor);
}
