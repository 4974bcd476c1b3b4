import { CliError, EXIT } from '../exit-codes.js';
import type { ModeFlags } from '../options.js';
import type { FraisierClient } from './client.js';

/** What a command needs of the configuration in local mode. */
export interface ClientNeeds {
  /** deferred: it only reads, and secrets whose ${VAR} is unset may stay unavailable (the default: required). */
  secrets?: 'required' | 'deferred';
}

/** A command that only reads what is recorded: it needs the store, not the secrets. */
export const READ_ONLY: ClientNeeds = { secrets: 'deferred' };

/**
 * Remote mode when --url or FRAISIER_URL is given, local mode otherwise (the configuration
 * file, and the store it names or --database). Each mode's modules load only when used: the
 * remote client starts without the whole server.
 */
export async function openClient(flags: ModeFlags, needs: ClientNeeds = {}, env: NodeJS.ProcessEnv = process.env): Promise<FraisierClient> {
  const url = flags.url ?? (env.FRAISIER_URL || undefined);
  if (url) {
    const local = [flags.config && '--config', flags.database && '--database'].filter(Boolean);
    if (local.length) {
      throw new CliError(`${local.join(' and ')} cannot be used with a server URL: the server uses its own configuration and store`, EXIT.USAGE);
    }
    const { RemoteClient } = await import('./remote-client.js');
    return new RemoteClient(url, flags.token ?? (env.FRAISIER_TOKEN || undefined));
  }
  if (flags.token) throw new CliError('--token needs --url (or FRAISIER_URL): local mode needs no token', EXIT.USAGE);
  const [{ loadCliConfig }, { LocalClient }] = await Promise.all([import('../load-config.js'), import('./local-client.js')]);
  const loaded = loadCliConfig(flags, { overrides: flags.database ? { databaseUrl: flags.database } : {}, env, secrets: needs.secrets ?? 'required' });
  return LocalClient.open(loaded.config, () => cliLogger(env));
}

/**
 * The app's own logs would garble the CLI's output: silent unless FRAISIER_LOG_LEVEL asks,
 * and then on stderr.
 */
export async function cliLogger(env: NodeJS.ProcessEnv = process.env) {
  const [{ default: pino }, { createLogger }] = await Promise.all([import('pino'), import('../../logger.js')]);
  return createLogger({ level: env.FRAISIER_LOG_LEVEL || 'silent', destination: pino.destination(2) });
}

/** Opens a client, runs `action` with it, and always closes it. */
export async function withClient<T>(flags: ModeFlags, action: (client: FraisierClient) => Promise<T>, needs: ClientNeeds = {}): Promise<T> {
  const client = await openClient(flags, needs);
  try {
    return await action(client);
  } finally {
    await client.close().catch(() => {});
  }
}
