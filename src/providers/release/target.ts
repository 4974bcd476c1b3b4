import { isAbsolute, resolve } from 'node:path';
import type { EnvironmentConfig } from '../../config/types.js';
import type { CommandRunner } from '../../exec/runner.js';
import { type HostShell, type TargetHostSettings, targetShell } from '../host.js';
import { DeployFailure, loadedSettings } from '../provider.js';
import { type Layout, layoutOf } from './layout.js';

/**
 * What targets that keep releases under app_path on a host (bare metal, Compose) share: their
 * typed settings, the host their commands run on (here, or over SSH) and the release layout.
 */
export abstract class ReleaseTarget<TSettings extends TargetHostSettings> {
  constructor(protected readonly runner: CommandRunner) {}

  settingsOf(env: EnvironmentConfig): TSettings {
    return loadedSettings<TSettings>(env);
  }

  /** Which target host a deployment occupies, for the per-host concurrency limit. */
  hostOf(env: EnvironmentConfig): string {
    return this.settingsOf(env).host ?? 'local';
  }

  shellFor(env: EnvironmentConfig): HostShell {
    return targetShell(this.runner, this.settingsOf(env));
  }

  /** The host name a health check URL built from `path`/`port` asks. */
  healthHost(env: EnvironmentConfig): string {
    return this.settingsOf(env).host ?? '127.0.0.1';
  }

  layout(env: EnvironmentConfig): Layout {
    const appPath = env.appPath;
    if (!appPath) throw new DeployFailure(`${env.fraise}/${env.name}: no app_path: where should the releases go?`);
    // A relative app_path is relative to Fraisier's directory here, to the user's home over SSH.
    return layoutOf(this.shellFor(env).remote || isAbsolute(appPath) ? appPath : resolve(appPath));
  }
}
