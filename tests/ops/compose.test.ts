import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

/*
 * compose.yaml, resolved by Compose itself (`docker compose config`, or docker-compose v1 where
 * that is what is installed): Fraisier built from the Dockerfile, its store PostgreSQL, started
 * once PostgreSQL is healthy. Running it needs a PostgreSQL image, which no registry here can
 * give; the image itself is run by image.test.ts.
 */

const run = promisify(execFile);

async function composeCommand(): Promise<string[] | undefined> {
  for (const command of [['docker', 'compose'], ['docker-compose']]) {
    const works = await run(command[0]!, [...command.slice(1), 'version'], { timeout: 30_000 }).then(
      () => true,
      () => false,
    );
    if (works) return command;
  }
  if (process.env.CI) throw new Error('neither docker compose nor docker-compose is installed (under CI compose.yaml must be checked)');
  return undefined;
}

const compose = await composeCommand();

describe.skipIf(!compose)('compose.yaml', () => {
  const config = async (env: Record<string, string>) => {
    const [file, ...args] = compose!;
    return run(file!, [...args, '-f', 'compose.yaml', 'config'], { env: { ...process.env, POSTGRES_PASSWORD: '', ...env }, timeout: 60_000 });
  };

  it('runs Fraisier from the Dockerfile on PostgreSQL, once PostgreSQL is healthy', async () => {
    const { stdout } = await config({ POSTGRES_PASSWORD: 'pw-from-env' });
    const resolved = parseYaml(stdout) as {
      services: Record<string, { build?: { context: string }; environment: Record<string, string>; depends_on: Record<string, { condition: string }>; volumes: unknown[]; healthcheck?: unknown }>;
    };
    const fraisier = resolved.services.fraisier!;
    expect(fraisier.build?.context).toBeDefined();
    expect(fraisier.environment.FRAISIER_DATABASE_URL).toBe('postgres://fraisier:pw-from-env@postgres:5432/fraisier');
    expect(fraisier.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(JSON.stringify(fraisier.volumes)).toContain('/var/lib/fraisier');
    expect(resolved.services.postgres!.healthcheck).toBeDefined();
    expect(resolved.services.postgres!.environment.POSTGRES_PASSWORD).toBe('pw-from-env');
  });

  it('refuses to start without a PostgreSQL password, saying where to set it', async () => {
    const error = await config({}).then(
      () => undefined,
      (e: Error & { stderr: string }) => e,
    );
    expect(error?.stderr).toMatch(/set POSTGRES_PASSWORD in \.env/);
  });
});
