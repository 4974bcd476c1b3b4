import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { FraisierConfig } from '../config/types.js';
import type { CommandRunner } from '../exec/runner.js';
import { commitEverything, GIT_ENV, initRepository } from '../git/commands.js';
import { PACKAGE_ROOT } from './package-info.js';

/*
 * The bundled example deploys services from local repositories. So that `npm install && npm
 * start` ends with something to deploy, the first run with the example makes each missing one
 * from the service's directory under examples/: one commit on `main`.
 */

/** The example's fraises and the directory each deploys. */
const EXAMPLE_SOURCES: Record<string, string> = {
  hello: 'examples/hello-service',
  hello_compose: 'examples/compose-service',
};

const IDENTITY = {
  GIT_AUTHOR_NAME: 'Fraisier example',
  GIT_AUTHOR_EMAIL: 'example@fraisier.invalid',
  GIT_COMMITTER_NAME: 'Fraisier example',
  GIT_COMMITTER_EMAIL: 'example@fraisier.invalid',
};

export interface MadeRepository {
  fraise: string;
  path: string;
  source: string;
}

/** Makes the example's repositories that do not exist yet; a repository given as a URL, or one that exists, is left alone. */
export async function makeExampleRepositories(config: FraisierConfig, runner: CommandRunner, cwd = process.cwd()): Promise<MadeRepository[]> {
  const made: MadeRepository[] = [];
  for (const [fraise, source] of Object.entries(EXAMPLE_SOURCES)) {
    const paths = new Set(
      (config.fraises.find((f) => f.name === fraise)?.environments ?? [])
        .map((env) => env.repository)
        .filter((repository): repository is string => repository !== undefined && isLocalPath(repository)),
    );
    for (const repository of paths) {
      const path = resolve(cwd, repository);
      if (existsSync(path)) continue;
      const from = join(PACKAGE_ROOT, source);
      mkdirSync(path, { recursive: true });
      cpSync(from, path, { recursive: true });
      const env = { ...GIT_ENV, ...IDENTITY };
      await runner.run(initRepository(path, 'main'), { env });
      for (const argv of commitEverything(`${source}, version 1`)) await runner.run(argv, { cwd: path, env });
      made.push({ fraise, path, source: from });
    }
  }
  return made;
}

/** A path on this machine, not a URL or scp-like `host:path`. */
function isLocalPath(repository: string): boolean {
  return isAbsolute(repository) || repository.startsWith('.') || !/^[\w.+-]+:|^[^/]+@[^/]+:/.test(repository);
}
