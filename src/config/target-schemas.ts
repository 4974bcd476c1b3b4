import { z } from 'zod';

/*
 * The settings each built-in target provider accepts under `target:` (PRD table "Built-in
 * Providers"). A provider a user registers brings its own schema, or none (then anything loads).
 */

const argv = z.array(z.string().min(1)).min(1);
const port = z.number().int().min(1).max(65535);

const serviceCommands = z.strictObject({
  restart: argv.optional(),
  start: argv.optional(),
  stop: argv.optional(),
  status: argv.optional(),
  logs: argv.optional(),
});

/** How a target on another server is reached: OpenSSH, key auth, host keys checked. */
const sshSettings = {
  host: z.string().optional(),
  user: z.string().optional(),
  port: port.optional(),
  identity_file: z.string().optional(),
  known_hosts: z.string().optional(),
  ssh_options: z.array(z.string()).optional(),
};

const UPSTREAM_ERROR = 'expected where the proxy reaches the service on this host: ADDRESS:PORT (e.g. 10.0.0.5:3000), or ADDRESS with strategy.port';

/**
 * One host of a rolling deployment: where its commands run (over SSH, the target's SSH settings
 * filling in what it leaves out), where its releases go, and where the proxy reaches its service.
 */
const rollingHost = z.strictObject({
  /** How messages, progress and the upstream file name it (default: host). */
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { error: 'expected a host name of letters, digits, ".", "_" or "-" (at most 64 characters)' })
    .optional(),
  host: z.string().min(1, { error: 'the SSH host (a name or an address)' }),
  user: sshSettings.user,
  /** The SSH port. */
  port: sshSettings.port,
  identity_file: sshSettings.identity_file,
  known_hosts: sshSettings.known_hosts,
  ssh_options: sshSettings.ssh_options,
  /** Where the releases go on this host (default: the target's app_path). */
  app_path: z.string().min(1).optional(),
  /** ADDRESS:PORT the proxy sends this host's requests to (default: host, and strategy.port). */
  upstream: z
    .string()
    .regex(/^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+)(:\d{1,5})?$/, { error: UPSTREAM_ERROR })
    .optional(),
});

/** The hosts of a rolling deployment: each an SSH host name, or a mapping. */
export const rollingHosts = z
  .array(z.union([z.string().min(1), rollingHost], { error: 'expected an SSH host, or {host: ..., upstream: ADDRESS:PORT}' }), {
    error: 'expected a list of hosts, each an SSH host or {host: ..., upstream: ADDRESS:PORT}',
  })
  .min(1, { error: 'expected at least one host' });

export type RawRollingHost = z.output<typeof rollingHost>;

export const bareMetalTarget = z.strictObject({
  provider: z.literal('bare-metal'),
  ...sshSettings,
  /** strategy rolling: the hosts it deploys to, a batch at a time. */
  hosts: rollingHosts.optional(),
  app_path: z.string().optional(),
  systemd_service: z.string().optional(),
  service_manager: z.enum(['systemd', 'none']).optional(),
  commands: serviceCommands.optional(),
  sudo: z.boolean().optional(),
  keep_releases: z.number().int().min(1).optional(),
  /** releases/<commit> + current (the default here), or the commit checked out into app_path itself. */
  layout: z.enum(['in_place', 'releases']).optional(),
});

/** Compose project names: what both `docker compose` and `docker-compose` accept. */
const projectName = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, "-" and "_", starting with a letter or digit');

export const dockerComposeTarget = z.strictObject({
  provider: z.literal('docker-compose'),
  ...sshSettings,
  /** strategy rolling: the hosts it deploys to, a batch at a time. */
  hosts: rollingHosts.optional(),
  /** The Compose file, relative to the repository's root (default: compose.yaml, docker-compose.yml, ...). */
  file: z.string().min(1).optional(),
  /** The one service to deploy (default: every service of the file). */
  service: z.string().min(1).optional(),
  project: projectName.optional(),
  /** The Docker CLI context to run against (`docker --context`). */
  context: z.string().min(1).optional(),
  build: z.boolean().optional(),
  pull: z.boolean().optional(),
  app_path: z.string().optional(),
  keep_releases: z.number().int().min(1).optional(),
});

const ENDPOINT_ERROR = 'expected the address of the Coolify instance, http:// or https:// (e.g. https://coolify.example.com)';

/** A Coolify application, deployed through Coolify's API (v4). */
export const coolifyTarget = z.strictObject({
  provider: z.literal('coolify'),
  endpoint: z.string().regex(/^https?:\/\/[^\s/?#]+[^\s?#]*$/, { error: ENDPOINT_ERROR }),
  /** An API token of the team that owns the application, with the read, write and deploy abilities. */
  api_key: z.string().optional(),
  /** The PRD's project id: accepted, not needed (application_uuid names the application). */
  project_id: z.string().optional(),
  /** The application Fraisier deploys (the last part of its address in Coolify's dashboard). */
  application_uuid: z.string().optional(),
  /** Every deployment rebuilds without Docker's cache. */
  force_rebuild: z.boolean().optional(),
});

/** A target's settings as loaded: its schema's output without the `provider` key. */
export type TargetSettings<S extends z.ZodObject> = Omit<z.output<S>, 'provider'>;
export type BareMetalTarget = TargetSettings<typeof bareMetalTarget>;
export type DockerComposeTarget = TargetSettings<typeof dockerComposeTarget>;
export type CoolifyTarget = TargetSettings<typeof coolifyTarget>;

export const TARGET_SCHEMAS: Record<string, z.ZodObject> = {
  'bare-metal': bareMetalTarget,
  'docker-compose': dockerComposeTarget,
  coolify: coolifyTarget,
  kubernetes: z.strictObject({
    provider: z.literal('kubernetes'),
    context: z.string().optional(),
    namespace: z.string().optional(),
    kubeconfig: z.string().optional(),
    deployment: z.string().optional(),
    container: z.string().optional(),
    image: z.string().optional(),
  }),
  aws: z.strictObject({
    provider: z.literal('aws'),
    region: z.string(),
    service: z.string().optional(),
    cluster: z.string().optional(),
    task_definition: z.string().optional(),
    access_key_id: z.string().optional(),
    secret_access_key: z.string().optional(),
  }),
  scaleway: z.strictObject({
    provider: z.literal('scaleway'),
    region: z.string(),
    zone: z.string().optional(),
    instance_type: z.string().optional(),
    instance_id: z.string().optional(),
    project_id: z.string().optional(),
    access_key: z.string().optional(),
    secret_key: z.string().optional(),
  }),
  ovh: z.strictObject({
    provider: z.literal('ovh'),
    region: z.string(),
    project: z.string().optional(),
    endpoint: z.string().optional(),
    application_key: z.string().optional(),
    application_secret: z.string().optional(),
    consumer_key: z.string().optional(),
  }),
};

export const BUILTIN_TARGET_PROVIDERS = Object.keys(TARGET_SCHEMAS);
