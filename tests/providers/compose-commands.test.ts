import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createRunner } from '../../src/exec/runner.js';
import {
  compose,
  composeCandidates,
  overrideFile,
  overrideImages,
  parseComposeConfig,
  parseContainerStates,
  releaseImage,
} from '../../src/providers/docker-compose/commands.js';
import { DockerComposeProvider } from '../../src/providers/docker-compose/provider.js';

/*
 * Compose command lines and the files Fraisier writes, as pure functions; the configuration a
 * docker-compose target accepts. The engine itself is exercised in docker-compose.test.ts.
 */

const load = (target: string) =>
  parseConfig(`fraises:\n  Hello_App:\n    type: api\n    environments:\n      Prod:\n        app_path: /srv/hello\n        target: ${target}\n`, { env: {} });

describe('Compose command lines', () => {
  it('prefer `docker compose` (v2) to `docker-compose` (v1), with the same subcommands after', () => {
    const [v2, v1] = composeCandidates('remote-engine');
    expect(v2).toEqual({ version: 'v2', base: ['docker', '--context', 'remote-engine', 'compose'] });
    expect(v1).toEqual({ version: 'v1', base: ['docker-compose', '--context', 'remote-engine'] });
    const files = { project: 'hello-prod', file: '/srv/hello/releases/abc/compose.yaml', override: '/srv/hello/compose/abc.yaml' };
    expect(compose(v2!, files, 'up', '--detach')).toEqual([
      'docker', '--context', 'remote-engine', 'compose', '--project-name', 'hello-prod',
      '--file', '/srv/hello/releases/abc/compose.yaml', '--file', '/srv/hello/compose/abc.yaml', 'up', '--detach',
    ]);
    expect(compose(composeCandidates()[1]!, { project: 'p', file: '/f.yaml' }, 'ps')).toEqual(['docker-compose', '--project-name', 'p', '--file', '/f.yaml', 'ps']);
  });

  it('tag every built service with the commit in the override, and read those images back', () => {
    const model = parseComposeConfig('services:\n  web:\n    build:\n      context: /x\n  Worker.1:\n    build: {context: /x}\n  db:\n    image: postgres:16\n');
    expect(model.services).toEqual([
      { name: 'web', builds: true },
      { name: 'Worker.1', builds: true },
      { name: 'db', builds: false, image: 'postgres:16' },
    ]);
    const sha = 'a'.repeat(40);
    const text = overrideFile(model, 'hello-prod', sha);
    expect(overrideImages(text)).toEqual([`fraisier/hello-prod-web:${sha}`, `fraisier/hello-prod-worker-1:${sha}`]);
    expect(releaseImage('p', '__Odd Name__', sha)).toBe(`fraisier/p-odd-name:${sha}`);
  });

  it('read container states, with or without a HEALTHCHECK', () => {
    expect(parseContainerStates('/p-web-1|running|healthy\n/p-db-1|running|\n/p-job-1|exited|\n')).toEqual([
      { name: 'p-web-1', state: 'running', health: 'healthy' },
      { name: 'p-db-1', state: 'running', health: null },
      { name: 'p-job-1', state: 'exited', health: null },
    ]);
  });
});

describe('a docker-compose target', () => {
  const provider = new DockerComposeProvider(createRunner());

  it('loads typed, with a project named after the fraise and environment unless set', () => {
    const { config } = load('{ provider: docker-compose, service: web, build: true, keep_releases: 3 }');
    const env = config.fraises[0]!.environments[0]!;
    expect(provider.settingsOf(env)).toEqual({ service: 'web', build: true, keep_releases: 3 });
    expect(provider.project(env)).toBe('hello_app-prod');
    expect(provider.plan(config.fraises[0]!, env, 'deploy')).toEqual(['preflight', 'fetch', 'build', 'restart', 'health_check']);
    const pulled = load('{ provider: docker-compose, build: false, pull: true, project: hello }').config.fraises[0]!;
    expect(provider.plan(pulled, pulled.environments[0]!, 'deploy')).toEqual(['preflight', 'fetch', 'pull', 'restart', 'health_check']);
    expect(provider.project(pulled.environments[0]!)).toBe('hello');
  });

  it('refuses settings it does not know, and project names Compose would refuse, naming the key', () => {
    expect(() => load('{ provider: docker-compose, files: compose.yaml }')).toThrow(/fraises\.Hello_App\.environments\.Prod\.target.*files/);
    expect(() => load('{ provider: docker-compose, project: "Hello World" }')).toThrow(/target\.project.*lowercase/);
    expect(() => load('{ provider: docker-compose, build: "yes" }')).toThrow(/target\.build/);
  });
});
