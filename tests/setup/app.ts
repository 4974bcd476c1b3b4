import pino from 'pino';
import { type App, type AppOptions, createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { FraisierConfig } from '../../src/config/types.js';
import type { CommandRunner } from '../../src/exec/runner.js';
import { createStore } from '../../src/store/store.js';
import type { DialectFixture, TestDatabase } from './dialects.js';
import { proxyDatabase, type TcpProxy } from './tcp-proxy.js';

/** A small configuration most API tests share: two fraises, three environments. */
export const BASIC_CONFIG = `
fraises:
  my_api:
    type: api
    description: My API
    database: { type: postgresql, strategy: apply }
    environments:
      staging:
        branch: staging
        target:
          provider: coolify
          endpoint: http://127.0.0.1:9
          api_key: super-secret-key-123
          application_uuid: app-1
      production:
        branch: main
        target: { provider: bare-metal, host: prod.example.com, app_path: /srv/api }
  my_worker:
    type: worker
    environments:
      production:
        target: { provider: kubernetes, namespace: jobs }
`;

export function testConfig(yaml = BASIC_CONFIG, env: Record<string, string> = {}): FraisierConfig {
  return parseConfig(yaml, { env }).config;
}

export interface TestApp {
  app: App;
  database: TestDatabase;
  dispose(): Promise<void>;
}

/** An app on a fresh database of `dialect`, initialised (migrated), logging nothing. */
export async function createTestApp(
  dialect: DialectFixture,
  options: Partial<Pick<AppOptions, 'config' | 'now' | 'production' | 'runner' | 'scheduler' | 'logger' | 'accept' | 'tracing'>> = {},
): Promise<TestApp> {
  const database = await dialect.createDatabase();
  const config = options.config ?? testConfig();
  const app = createApp({
    config,
    store: createStore(database.url, { poolSize: 5 }),
    logger: options.logger ?? pino({ level: 'silent' }),
    ...(options.now ? { now: options.now } : {}),
    ...(options.production !== undefined ? { production: options.production } : {}),
    ...(options.runner ? { runner: options.runner } : {}),
    ...(options.scheduler !== undefined ? { scheduler: options.scheduler } : {}),
    ...(options.accept ? { accept: options.accept } : {}),
    ...(options.tracing ? { tracing: options.tracing } : {}),
  });
  await app.init();
  return {
    app,
    database,
    async dispose() {
      await app.stop();
      await database.drop();
    },
  };
}

/**
 * `fraisier serve` in-process: an app from `yaml` over the database at `databaseUrl`, listening
 * on a free port, logging nothing. The caller stops it (`app.stop()`) and drops its database.
 */
export async function startTestServer(
  yaml: string,
  databaseUrl: string,
  options: Partial<Pick<AppOptions, 'accept' | 'scheduler'>> = {},
): Promise<{ app: App; url: string }> {
  const app = createApp({
    config: testConfig(yaml),
    store: createStore(databaseUrl),
    logger: pino({ level: 'silent' }),
    ...(options.accept ? { accept: options.accept } : {}),
    ...(options.scheduler !== undefined ? { scheduler: options.scheduler } : {}),
  });
  const { url } = await app.start({ port: 0 });
  return { app, url };
}

export interface ProxiedTestApp {
  app: App;
  url: string;
  /** Take the database away (`down()`) and give it back (`up()`). */
  proxy: TcpProxy;
  /** Reached directly, not through the proxy. */
  database: TestDatabase;
  dispose(): Promise<void>;
}

/** An app listening on a port, whose store is a fresh database reached through a TCP proxy. */
export async function startAppBehindProxy(
  dialect: DialectFixture,
  config: FraisierConfig,
  options: { poolSize: number; connectTimeoutMs: number; now?: () => Date },
): Promise<ProxiedTestApp> {
  const database = await dialect.createDatabase();
  const { proxy, url: proxiedUrl } = await proxyDatabase(database.url);
  const app = createApp({
    config,
    store: createStore(proxiedUrl, { poolSize: options.poolSize, connectTimeoutMs: options.connectTimeoutMs }),
    logger: pino({ level: 'silent' }),
    ...(options.now ? { now: options.now } : {}),
  });
  const { url } = await app.start({ port: 0 });
  return {
    app,
    url,
    proxy,
    database,
    async dispose() {
      await proxy.up();
      await app.stop();
      await proxy.close();
      await database.drop();
    },
  };
}

/** Runs a GraphQL operation through yoga.fetch, without a port. */
export async function gql<T = any>(
  app: App,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<{ status: number; data?: T; errors?: { message: string; extensions?: { code?: string } }[] }> {
  const response = await app.yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  return { status: response.status, ...body };
}
