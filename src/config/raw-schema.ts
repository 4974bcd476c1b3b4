import { z } from 'zod';
import { FRAISE_TYPES, MIGRATION_STRATEGIES, SCOPES } from './types.js';

/*
 * The shape of fraises.yaml as written, in both dialects (the PRD's and the Python Fraisier's).
 * Objects are strict so that a typo is reported (with the closest known key) instead of being
 * dropped. Keys Fraisier knows but does not act on yet are `unused()`: they load, and
 * `config validate` lists them. The JSON Schema in compiled/fraises.schema.json is printed from
 * this file.
 */

export const UNUSED_DESCRIPTION = 'Known, loaded and kept, but not acted on by this version of Fraisier.';

/** A key Fraisier accepts but does not act on yet. */
const unused = () => z.any().optional().describe(UNUSED_DESCRIPTION);

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
  restore: unused(),
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
  systemd_service: z.string().optional(),
  systemd_timer: z.string().optional(),
  depends_on: z.union([z.string(), z.array(z.string())]).optional(),
  retention_days: z.number().int().positive().optional(),
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

const environment = z.strictObject({
  // PRD dialect
  target: target.optional(),
  // both
  database: database.optional(),
  jobs: z.record(z.string(), job).optional(),
  health_check: healthCheck.optional(),
  install: install.optional(),
  // Python Fraisier dialect
  name: z.string().optional(),
  branch: z.string().optional(),
  tags: z.string().optional(),
  git_repo: z.string().optional(),
  clone_url: z.string().optional(),
  repository: z.string().optional(),
  app_path: z.string().optional(),
  systemd_service: z.string().optional(),
  systemd_deploy_socket: z.string().optional(),
  deploy_user: z.string().optional(),
  ssh: ssh.optional(),
  timeout: duration.optional(),
  lock_timeout: duration.optional(),
  script_path: z.string().optional(),
  build: commandBlock.optional(),
  compile: commandBlock.optional(),
  steps: z.array(step).optional(),
  commands: serviceCommands.optional(),
  /** in_place: the commit checked out into app_path (the Python Fraisier's way, its default); releases: releases/<commit> + current. */
  layout: z.enum(['in_place', 'releases']).optional(),
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  notifications: unused(),
  service: unused(),
  nginx: unused(),
  smoke_tests: unused(),
  allow_destructive: unused(),
});

const fraiseGit = z.strictObject({
  provider: z.string().optional(),
  base_url: z.string().optional(),
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
  base_url: z.string().optional(),
  webhook_secret: secrets.optional(),
  secret_token: secrets.optional(),
  server: z.boolean().optional(),
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
        log_dir: z.string().optional(),
        notifications: unused(),
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
  notifications: unused(),
  hooks: unused(),
  health: unused(),
  scaffold: unused(),
  ship: unused(),
  webhook: unused(),
  backup: unused(),
});

export type RawConfig = z.infer<typeof rawConfigSchema>;
export type RawFraise = z.infer<typeof fraise>;
export type RawEnvironment = z.infer<typeof environment>;
export type RawDatabase = z.infer<typeof database>;
export type RawHealthCheck = z.infer<typeof healthCheck>;
export type RawJob = z.infer<typeof job>;
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
