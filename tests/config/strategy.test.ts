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

  it('names the strategy types there are', () => {
    expect(configErrors(environment('type: blue_green'))).toEqual([
      `${PREFIX}.strategy.type: expected one of "recreate", "blue-green", "rolling", "canary", got "blue_green"; did you mean "blue-green"? (line 15)`,
    ]);
  });

  describe('canary', () => {
    const CANARY = `type: canary
slots: {stable: 3001, canary: 3002}
proxy: {type: nginx, upstream_file: /etc/nginx/conf.d/hello-upstream.conf, upstream: hello}
steps: [10, 50, 100]`;
    const strategyOf = (yaml: string) => parseConfig(yaml, { env: {} }).config.fraises[0]!.environments[0]!.strategy;

    it('loads the slots, proxy and drain of blue-green, its steps, a one-minute pause by default, and no analysis unless given', () => {
      expect(strategyOf(environment(CANARY))).toEqual({
        type: 'canary',
        slots: [
          { name: 'stable', port: 3001 },
          { name: 'canary', port: 3002 },
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
        steps: [10, 50, 100],
        pauseSeconds: 60,
      });
    });

    it('loads an access-log analysis with its defaults, a Prometheus one, and pauses until promoted', () => {
      expect(strategyOf(environment(`${CANARY}\npause: 2m\nanalysis: {source: access_log, path: /var/log/nginx/hello-canary.log, format: fraisier_canary}`))).toMatchObject({
        pauseSeconds: 120,
        analysis: { source: { type: 'access_log', path: '/var/log/nginx/hello-canary.log' }, maxErrorRate: 0.05, minRequests: 20, intervalSeconds: 10 },
      });
      const prometheus = `${CANARY}
pause: until_promoted
analysis:
  source: prometheus
  url: http://prometheus:9090
  requests: 'sum(increase(http_requests_total{slot="{slot}"}[{window}]))'
  error_rate: 'sum(rate(http_requests_total{slot="{slot}",code=~"5.."}[{window}])) / sum(rate(http_requests_total{slot="{slot}"}[{window}]))'
  max_error_rate: 0.01
  min_requests: 100
  interval: 30s`;
      expect(strategyOf(environment(prometheus))).toMatchObject({
        pauseSeconds: null,
        analysis: {
          source: {
            type: 'prometheus',
            url: 'http://prometheus:9090',
            requests: 'sum(increase(http_requests_total{slot="{slot}"}[{window}]))',
            errorRate: 'sum(rate(http_requests_total{slot="{slot}",code=~"5.."}[{window}])) / sum(rate(http_requests_total{slot="{slot}"}[{window}]))',
          },
          maxErrorRate: 0.01,
          minRequests: 100,
          intervalSeconds: 30,
        },
      });
      expect(strategyOf(environment(`${CANARY}\npause: null`))).toMatchObject({ pauseSeconds: null });
      expect(strategyOf(environment(`${CANARY}\npause: 0`))).toMatchObject({ pauseSeconds: 0 });
    });

    it('works in the Python Fraisier dialect too', () => {
      const strategy = strategyOf(`fraises:
  hello:
    type: api
    environments:
      production:
        app_path: /srv/hello
        layout: releases
        systemd_service: hello.service
        health_check: {url: "http://localhost:{port}/health"}
        strategy: {type: canary, slots: {blue: 3001, green: 3002}, proxy: {type: command, switch: [switch-it]}, steps: [25, 100], pause: 30s}
`);
      expect(strategy).toMatchObject({ type: 'canary', steps: [25, 100], pauseSeconds: 30, proxy: { type: 'command', switch: ['switch-it'] } });
    });

    it('refuses steps that do not increase to 100, saying which', () => {
      expect(configErrors(environment(CANARY.replace('steps: [10, 50, 100]', '')))).toEqual([
        `${PREFIX}.strategy: a canary needs steps: the new release's share of the requests at each step, e.g. steps: [10, 50, 100] (line 15)`,
      ]);
      expect(configErrors(environment(CANARY.replace('[10, 50, 100]', '[50, 10, 0, 100.5, 100]')))).toEqual([
        `${PREFIX}.strategy.steps[1]: steps must increase: 10 comes after 50 (line 18)`,
        `${PREFIX}.strategy.steps[2]: expected a whole percentage of the requests, 1 to 100; got 0 (line 18)`,
        `${PREFIX}.strategy.steps[3]: expected a whole percentage of the requests, 1 to 100; got 100.5 (line 18)`,
      ]);
      expect(configErrors(environment(CANARY.replace('[10, 50, 100]', '[10, 50]')))).toEqual([
        `${PREFIX}.strategy.steps: the last step must be 100 (all the requests on the new release); it is 50 (line 18)`,
      ]);
      expect(configErrors(environment(CANARY.replace('[10, 50, 100]', '[]')))).toEqual([`${PREFIX}.strategy.steps: give at least one step, the last 100, e.g. [10, 50, 100] (line 18)`]);
      expect(configErrors(environment(CANARY.replace('[10, 50, 100]', '[10, half, 100]')))).toEqual([
        `${PREFIX}.strategy.steps[1]: expected a percentage of the requests, 1 to 100 (line 18)`,
      ]);
      expect(configErrors(environment(`${CANARY}\npause: forever`))).toEqual([
        `${PREFIX}.strategy.pause: expected seconds (a number) or a duration such as "30s", "5m", "1h", or until_promoted (line 19)`,
      ]);
    });

    it('refuses an analysis it could not run, saying what is missing or wrong', () => {
      const analysis = (body: string) => configErrors(environment(`${CANARY}\nanalysis: {${body}}`));
      const at = `${PREFIX}.strategy.analysis`;
      expect(analysis('source: access_log')).toEqual([
        `${at}: an access_log analysis needs path: the log nginx writes with the fraisier_canary format (see the README, "Canary analysis") (line 19)`,
      ]);
      expect(analysis('source: access_log, path: logs/canary.log, url: http://p:9090, format: combined')).toEqual([
        `${at}.format: the access log must be in the documented format: fraisier_canary (line 19)`,
      ]);
      expect(analysis('source: access_log, path: logs/canary.log, url: http://p:9090')).toEqual([
        `${at}.url: url applies to source prometheus; an access_log analysis reads path (line 19)`,
        `${at}.path: expected an absolute path, got "logs/canary.log" (line 19)`,
      ]);
      expect(analysis('source: prometheus, url: http://p:9090, path: /var/log/x.log')).toEqual([
        `${at}.path: path applies to source access_log; a prometheus analysis runs its two queries (line 19)`,
        `${at}: a prometheus analysis needs requests, error_rate: the server's URL, and PromQL for the canary's requests and its 5xx share over {window} (e.g. sum(increase(http_requests_total{slot="{slot}"}[{window}]))) (line 19)`,
      ]);
      expect(analysis('source: prometheus, url: "prometheus:9090", requests: a, error_rate: b')).toEqual([
        `${at}.url: expected an http(s) URL such as http://prometheus:9090, got "prometheus:9090" (line 19)`,
      ]);
      expect(analysis('source: access_log, path: /var/log/c.log, max_error_rate: 5, min_requests: 0.5, interval: 0')).toEqual([
        `${at}.max_error_rate: expected a share from 0 to 1 (0.05 for 5%); got 5 (line 19)`,
        `${at}.min_requests: expected a whole number of requests, 1 or more (fewer say nothing: the step waits for a person); got 0.5 (line 19)`,
        `${at}.interval: expected a duration above 0, e.g. "10s" (line 19)`,
      ]);
      expect(analysis('source: datadog')).toEqual([`${at}.source: expected one of "access_log", "prometheus", got "datadog" (line 19)`]);
    });

    it('needs what blue-green needs, named as a canary', () => {
      expect(configErrors(environment('type: canary\nsteps: [100]'))).toEqual([
        `${PREFIX}.strategy: canary runs two slots, each on its own port: give two, e.g. slots: {blue: 3001, green: 3002} (line 15)`,
        `${PREFIX}.strategy: canary switches traffic through a proxy: add proxy: {type: nginx, upstream_file: /etc/nginx/conf.d/NAME-upstream.conf, upstream: NAME} or {type: command, switch: [...]} (line 15)`,
      ]);
      expect(configErrors(environment(CANARY, 'layout: in_place'))).toEqual([
        `${PREFIX}.layout: canary needs layout: releases: its two slots run two releases at once, and the in_place layout has one tree (app_path itself) (line 12)`,
      ]);
    });

    it('warns of canary keys on another strategy', () => {
      const { warnings } = parseConfig(environment(`${BLUE_GREEN}\nsteps: [10, 100]\npause: 1m`), { env: {} });
      expect(warnings.map((w) => w.message)).toContain('steps, pause apply to canary: blue-green switches all the traffic at once and ignores them');
    });
  });
});
