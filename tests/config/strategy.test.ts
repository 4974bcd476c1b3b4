import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { configErrors } from '../setup/config-errors.js';

/*
 * strategy: per environment. recreate is the default and changes nothing; blue-green is checked
 * against the rest of the environment (its slots, proxy, health check, layout and service).
 */

const PREFIX = 'fraises.hello.environments.prod';

function environment(strategy: string, more = ''): string {
  return `
fraises:
  hello:
    type: api
    environments:
      prod:
        branch: main
        target:
          provider: bare-metal
          app_path: /srv/hello
          systemd_service: hello
${more ? `${more.replace(/^/gm, '          ').replace(/^ {10}(?=\S+:)/gm, '        ')}\n` : ''}        health_check:
          url: "http://127.0.0.1:{port}/health"
        strategy:
${strategy.replace(/^/gm, '          ')}
`;
}

const BLUE_GREEN = `type: blue-green
slots: {blue: 3001, green: 3002}
proxy: {type: nginx, upstream_file: /etc/nginx/conf.d/hello-upstream.conf, upstream: hello}`;

describe('strategy', () => {
  it('is recreate when absent, as before', () => {
    const { config } = parseConfig(`fraises:\n  hello:\n    type: api\n    environments:\n      prod: { branch: main, app_path: /srv/hello }\n`, { env: {} });
    expect(config.fraises[0]!.environments[0]!.strategy).toBeUndefined();
    const recreate = parseConfig(environment('type: recreate'), { env: {} }).config;
    expect(recreate.fraises[0]!.environments[0]!.strategy).toEqual({ type: 'recreate' });
  });

  it('loads blue-green with its defaults: nginx -t, nginx -s reload, a 30 s drain, the old slot stopped', () => {
    const { config } = parseConfig(environment(BLUE_GREEN), { env: {} });
    expect(config.fraises[0]!.environments[0]!.strategy).toEqual({
      type: 'blue-green',
      slots: [
        { name: 'blue', port: 3001 },
        { name: 'green', port: 3002 },
      ],
      proxy: {
        type: 'nginx',
        upstreamFile: '/etc/nginx/conf.d/hello-upstream.conf',
        upstream: 'hello',
        test: ['nginx', '-t'],
        reload: ['nginx', '-s', 'reload'],
        pidFile: '/run/nginx.pid',
      },
      drainSeconds: 30,
      keepPrevious: false,
    });
  });

  it('loads a command proxy, a drain, keep_previous and the watch window', () => {
    const yaml = environment(`type: blue-green
slots: {a: 8001, b: 8002}
proxy: {type: command, switch: [/usr/local/bin/switch-haproxy]}
drain: 1m
keep_previous: true`).replace('url: "http://127.0.0.1:{port}/health"', 'url: "http://127.0.0.1:{port}/health"\n          watch: 2m\n          watch_interval: 10s\n          watch_failures: 3');
    const env = parseConfig(yaml, { env: {} }).config.fraises[0]!.environments[0]!;
    expect(env.strategy).toMatchObject({ proxy: { type: 'command', switch: ['/usr/local/bin/switch-haproxy'] }, drainSeconds: 60, keepPrevious: true });
    expect(env.healthCheck?.watch).toEqual({ seconds: 120, intervalSeconds: 10, failures: 3 });
  });

  it('works in the Python Fraisier dialect too (the environment keys of that dialect)', () => {
    const { config } = parseConfig(
      `fraises:
  hello:
    type: api
    environments:
      production:
        app_path: /srv/hello
        layout: releases
        systemd_service: hello.service
        health_check: {url: "http://localhost:{port}/health"}
        strategy: {type: blue-green, slots: {blue: 3001, green: 3002}, proxy: {type: command, switch: [switch-it]}}
`,
      { env: {} },
    );
    expect(config.fraises[0]!.environments[0]!.strategy?.type).toBe('blue-green');
  });

  it('refuses what blue-green cannot run, saying why', () => {
    expect(configErrors(environment('type: blue-green'))).toEqual([
      `${PREFIX}.strategy: blue-green runs two slots, each on its own port: give two, e.g. slots: {blue: 3001, green: 3002} (line 15)`,
      `${PREFIX}.strategy: blue-green switches traffic through a proxy: add proxy: {type: nginx, upstream_file: /etc/nginx/conf.d/NAME-upstream.conf, upstream: NAME} or {type: command, switch: [...]} (line 15)`,
    ]);
    expect(configErrors(environment(`type: blue-green
slots: {blue: 3001, green: 70000, Red: 3003}
proxy: {type: nginx, upstream_file: conf.d/up.conf, switch: [x]}
drain: soon`))).toEqual([
      `${PREFIX}.strategy.slots.green: expected a port, 1 to 65535 (line 16)`,
      `${PREFIX}.strategy.slots.Red: invalid name "Red": expected a slot name of lowercase letters, digits, "-" or "_", starting with a letter (at most 32 characters) (line 16)`,
      `${PREFIX}.strategy.drain: expected seconds (a number) or a duration such as "30s", "5m", "1h" (line 18)`,
    ]);
    expect(configErrors(environment(`type: blue-green
slots: {blue: 3001, green: 3001}
proxy: {type: nginx, upstream_file: conf.d/up.conf, switch: [x]}`))).toEqual([
      `${PREFIX}.strategy.slots: slots blue and green both use port 3001: each slot needs its own port (line 16)`,
      `${PREFIX}.strategy.proxy.switch: switch applies to proxy type command; nginx is switched by rewriting upstream_file, then test and reload (line 17)`,
      `${PREFIX}.strategy.proxy.upstream_file: expected an absolute path, got "conf.d/up.conf" (line 17)`,
      `${PREFIX}.strategy.proxy: nginx needs upstream: the name of the upstream block the site proxies to (proxy_pass http://NAME) (line 17)`,
    ]);
    expect(configErrors(environment('type: blue-green\nslots: {blue: 1, green: 2}\nproxy: {type: command, upstream: hello}'))).toEqual([
      `${PREFIX}.strategy.proxy.upstream: upstream applies to proxy type nginx; a command proxy runs its switch command only (line 17)`,
      `${PREFIX}.strategy.proxy: a command proxy needs switch: [argv], run with FRAISIER_SLOT, FRAISIER_PORT and FRAISIER_UPSTREAMS set to where traffic goes (line 17)`,
    ]);
  });

  it('needs a health check it can point at one slot', () => {
    expect(configErrors(environment(BLUE_GREEN).replace('url: "http://127.0.0.1:{port}/health"', 'url: "http://127.0.0.1/health"'))).toEqual([
      `${PREFIX}.health_check.url: blue-green checks each slot on its own port: write {port} in the url (e.g. "http://127.0.0.1:{port}/health"); "http://127.0.0.1/health" would check whichever slot already takes the traffic (line 13)`,
    ]);
    expect(configErrors(environment(BLUE_GREEN).replace('url: "http://127.0.0.1:{port}/health"', 'path: /health\n          port: 80'))).toEqual([
      `${PREFIX}.health_check.port: blue-green checks each slot on its own port: leave port out (or write {port} in a url) (line 14)`,
    ]);
    const pathOnly = parseConfig(environment(BLUE_GREEN).replace('url: "http://127.0.0.1:{port}/health"', 'path: /health'), { env: {} });
    expect(pathOnly.config.fraises[0]!.environments[0]!.strategy?.type).toBe('blue-green');
    const none = environment(BLUE_GREEN).replace(/ {8}health_check:\n.*\n/, '');
    expect(configErrors(none)).toEqual([
      `${PREFIX}.strategy: blue-green checks the new slot on its own port before any traffic goes to it: add a health_check, e.g. url: "http://127.0.0.1:{port}/health" (line 13)`,
    ]);
  });

  it('refuses the in_place layout, a fraise that takes no traffic, a target without slots and a service it cannot start per slot', () => {
    expect(configErrors(environment(BLUE_GREEN, 'layout: in_place'))).toEqual([
      `${PREFIX}.layout: blue-green needs layout: releases: its two slots run two releases at once, and the in_place layout has one tree (app_path itself) (line 12)`,
    ]);
    expect(configErrors(environment(BLUE_GREEN).replace('type: api', 'type: worker'))).toEqual([
      `${PREFIX}.strategy.type: blue-green switches HTTP traffic between two slots: it applies to api fraises, not to a worker fraise (line 15)`,
    ]);
    const noService = environment(BLUE_GREEN).replace('          systemd_service: hello\n', '          commands: {restart: [./bin/restart]}\n');
    expect(configErrors(noService)).toEqual([
      `${PREFIX}.strategy: blue-green starts and stops each slot: set systemd_service (its template unit NAME@SLOT.service runs each slot), or commands.restart and commands.stop (run with FRAISIER_SLOT and FRAISIER_PORT set) (line 15)`,
    ]);
    const coolify = environment(BLUE_GREEN).replace(/ {8}target:\n(.*\n){3}/, '        target: {provider: coolify, endpoint: "https://c.example.com"}\n');
    expect(configErrors(coolify)).toEqual([`${PREFIX}.strategy.type: blue-green runs on bare-metal and docker-compose targets, not on coolify (line 12)`]);
  });

  it('says canary is not available yet', () => {
    expect(configErrors(environment('type: canary'))).toEqual([
      `${PREFIX}.strategy.type: strategy "canary" is not available yet in this version of Fraisier (available: recreate, blue-green, rolling) (line 15)`,
    ]);
    expect(configErrors(environment('type: blue_green'))).toEqual([
      `${PREFIX}.strategy.type: expected one of "recreate", "blue-green", "rolling", "canary", got "blue_green"; did you mean "blue-green"? (line 15)`,
    ]);
  });
});
