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

export const bareMetalTarget = z.strictObject({
  provider: z.literal('bare-metal'),
  ...sshSettings,
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

/** A target's settings as loaded: its schema's output without the `provider` key. */
export type TargetSettings<S extends z.ZodObject> = Omit<z.output<S>, 'provider'>;
export type BareMetalTarget = TargetSettings<typeof bareMetalTarget>;
export type DockerComposeTarget = TargetSettings<typeof dockerComposeTarget>;

export const TARGET_SCHEMAS: Record<string, z.ZodObject> = {
  'bare-metal': bareMetalTarget,
  'docker-compose': dockerComposeTarget,
  coolify: z.strictObject({
    provider: z.literal('coolify'),
    endpoint: z.string(),
    api_key: z.string().optional(),
    project_id: z.string().optional(),
    application_uuid: z.string().optional(),
    force_rebuild: z.boolean().optional(),
  }),
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
