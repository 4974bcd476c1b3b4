import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { formatProblem } from '../../src/config/problems.js';
import { hostEnvironment } from '../../src/strategies/hosts.js';
import { strategyPlan } from '../../src/strategies/plan.js';
import { configErrors } from '../setup/config-errors.js';

/*
 * strategy: {type: rolling} and the target's hosts: every host reachable (the target's SSH
 * settings filling in), addressed in the upstream, with an app_path; a batch size that leaves a
 * host serving; a proxy; a health check that can be pointed at one host.
 */

const PREFIX = 'fraises.hello.environments.prod';

function rolling(strategy: string, options: { hosts?: string; target?: string; health?: string } = {}): string {
  const hosts = options.hosts ?? `- {host: web1.internal, upstream: "10.0.0.5:3000"}
- {host: web2.internal, upstream: "10.0.0.6:3000"}
- {host: web3.internal, upstream: "10.0.0.7:3000"}`;
  return `
fraises:
  hello:
    type: api
    environments:
      prod:
        branch: main
        git_repo: https://git.example.com/hello.git
        target:
          provider: bare-metal
          app_path: /srv/hello
          systemd_service: hello
          user: deploy
          identity_file: /etc/fraisier/deploy_key
${options.target ? `${options.target.replace(/^/gm, '          ')}\n` : ''}          hosts:
${hosts.replace(/^/gm, '            ')}
        health_check:
          ${options.health ?? 'url: "http://{host}:{port}/health"'}
        strategy:
${strategy.replace(/^/gm, '          ')}
`;
}

const PROXY = 'proxy: {type: nginx, upstream_file: /etc/nginx/conf.d/hello-upstream.conf, upstream: hello}';

const load = (yaml: string) => parseConfig(yaml, { env: {} }).config.fraises[0]!.environments[0]!;

const warnings = (yaml: string): string[] => parseConfig(yaml, { env: {} }).warnings.map(formatProblem);

describe('strategy rolling', () => {
  it('loads the hosts (the target filling in their SSH settings), one at a time by default, a 30 s drain', () => {
    const env = load(rolling(`type: rolling\n${PROXY}`, { hosts: `- {host: web1.internal, upstream: "10.0.0.5:3000"}\n- {host: web2.internal, port: 2222, user: ops, app_path: /opt/hello, upstream: "[fd00::6]:3001", name: two}` }));
    expect(env.strategy).toEqual({
      type: 'rolling',
      hosts: [
        { name: 'web1.internal', ssh: { host: 'web1.internal', user: 'deploy', identity_file: '/etc/fraisier/deploy_key' }, upstream: { host: '10.0.0.5', port: 3000 } },
        {
          name: 'two',
          ssh: { host: 'web2.internal', user: 'ops', port: 2222, identity_file: '/etc/fraisier/deploy_key' },
          appPath: '/opt/hello',
          upstream: { host: 'fd00::6', port: 3001 },
        },
      ],
      maxUnavailable: 1,
      proxy: { type: 'nginx', upstreamFile: '/etc/nginx/conf.d/hello-upstream.conf', upstream: 'hello', test: ['nginx', '-t'], reload: ['nginx', '-s', 'reload'], pidFile: '/run/nginx.pid' },
      drainSeconds: 30,
    });
  });

  it('takes a host written as its name alone, its upstream the name and strategy.port', () => {
    const env = load(rolling(`type: rolling\nport: 8080\n${PROXY}`, { hosts: '- web1\n- {host: web2, upstream: 10.0.0.6}' }));
    expect(env.strategy?.type === 'rolling' && env.strategy.hosts.map((h) => [h.name, h.upstream])).toEqual([
      ['web1', { host: 'web1', port: 8080 }],
      ['web2', { host: '10.0.0.6', port: 8080 }],
    ]);
  });

  it('resolves max_unavailable: a number, or a share of the hosts rounded down (at least one)', () => {
    const of = (value: string, hosts = 3) =>
      load(
        rolling(`type: rolling\nmax_unavailable: ${value}\nport: 3000\n${PROXY}`, { hosts: Array.from({ length: hosts }, (_, i) => `- web${i + 1}`).join('\n') }),
      ).strategy;
    expect(of('2')).toMatchObject({ maxUnavailable: 2 });
    expect(of('"67%"')).toMatchObject({ maxUnavailable: 2 });
    expect(of('"34%"')).toMatchObject({ maxUnavailable: 1 });
    expect(of('"10%"')).toMatchObject({ maxUnavailable: 1 });
    expect(of('"50%"', 4)).toMatchObject({ maxUnavailable: 2 });
    expect(of('"75%"', 4)).toMatchObject({ maxUnavailable: 3 });
    // One host: a restart with nothing else to take the requests, allowed.
    expect(of('1', 1)).toMatchObject({ maxUnavailable: 1 });
  });

  it('runs a proxy on a host of its own over SSH, the target filling in', () => {
    const env = load(rolling(`type: rolling\nproxy: {type: command, switch: [/usr/local/bin/haproxy-weights], host: lb1.internal, port: 2200}\ndrain: 5s`));
    expect(env.strategy).toMatchObject({
      proxy: { type: 'command', switch: ['/usr/local/bin/haproxy-weights'] },
      proxyHost: { host: 'lb1.internal', port: 2200, user: 'deploy', identity_file: '/etc/fraisier/deploy_key' },
      drainSeconds: 5,
    });
  });

  it('narrows the environment to one host: its SSH destination, app_path, health check and variables', () => {
    const env = load(rolling(`type: rolling\n${PROXY}`, { hosts: '- {host: web1, app_path: /opt/a, upstream: "10.0.0.5:3000"}\n- {host: web2, upstream: "10.0.0.6:3001"}' }));
    if (env.strategy?.type !== 'rolling') throw new Error('not rolling');
    const one = hostEnvironment(env, env.strategy.hosts[0]!);
    expect(one.strategy).toBeUndefined();
    expect(one.appPath).toBe('/opt/a');
    expect(one.target.config).toMatchObject({ host: 'web1', user: 'deploy', app_path: '/opt/a', systemd_service: 'hello' });
    expect(one.target.config.hosts).toBeUndefined();
    expect(one.healthCheck?.url).toBe('http://10.0.0.5:3000/health');
    expect(one.env).toMatchObject({ FRAISIER_HOST: 'web1', FRAISIER_PORT: '3000' });
    expect(hostEnvironment(env, env.strategy.hosts[1]!).appPath).toBe('/srv/hello');
    const byPath = load(rolling(`type: rolling\n${PROXY}`, { health: 'path: /health' }));
    if (byPath.strategy?.type !== 'rolling') throw new Error('not rolling');
    expect(hostEnvironment(byPath, byPath.strategy.hosts[2]!).healthCheck).toMatchObject({ host: '10.0.0.7', port: 3000, path: '/health' });
  });

  it('plans each host out of the upstream, drained, restarted, checked and back in', () => {
    const env = load(rolling(`type: rolling\n${PROXY}`));
    expect(strategyPlan(['preflight', 'fetch', 'install', 'migrate', 'restart', 'health_check'], env)).toEqual([
      'preflight',
      'fetch',
      'install',
      'migrate',
      'take_out',
      'drain',
      'restart',
      'health_check',
      'put_back',
    ]);
  });

  it('acts on health_check.watch: no warning, and a deployment (not a rollback) plans the watch once every host is back', () => {
    const yaml = rolling(`type: rolling\n${PROXY}`, { health: 'url: "http://{host}:{port}/health"\n          watch: 2m\n          watch_interval: 10s\n          watch_failures: 3' });
    expect(warnings(yaml).filter((w) => w.startsWith(PREFIX))).toEqual([]);
    const env = load(yaml);
    expect(env.healthCheck?.watch).toEqual({ seconds: 120, intervalSeconds: 10, failures: 3 });
    expect(strategyPlan(['preflight', 'fetch', 'restart', 'health_check'], env)).toEqual(['preflight', 'fetch', 'take_out', 'drain', 'restart', 'health_check', 'put_back', 'watch']);
    expect(strategyPlan(['preflight', 'checkout', 'restart', 'health_check'], env, 'rollback')).toEqual(['preflight', 'checkout', 'take_out', 'drain', 'restart', 'health_check', 'put_back']);
  });

  it('refuses hosts it cannot tell apart or reach, saying which', () => {
    expect(
      configErrors(
        rolling(`type: rolling\n${PROXY}`, {
          hosts: '- {host: web1, upstream: "10.0.0.5:3000"}\n- {host: web1, upstream: "10.0.0.5:3000"}\n- {host: "::1"}\n- {host: web4, upstream: "10.0.0.8:x"}\n- 3',
        }),
      ),
    ).toEqual([
      `${PREFIX}.target.hosts[3].upstream: expected where the proxy reaches the service on this host: ADDRESS:PORT (e.g. 10.0.0.5:3000), or ADDRESS with strategy.port (line 19)`,
      `${PREFIX}.target.hosts[4]: expected an SSH host, or {host: ..., upstream: ADDRESS:PORT} (line 20)`,
    ]);
    expect(configErrors(rolling(`type: rolling\n${PROXY}`, { hosts: '- {host: web1, upstream: "10.0.0.5:3000"}\n- {host: web1, upstream: "10.0.0.5:3000"}\n- {host: "::1"}\n- web4' }))).toEqual([
      `${PREFIX}.target.hosts[2]: "::1" cannot name a host (letters, digits, ".", "_" or "-", at most 64 characters): give it a name (line 18)`,
      `${PREFIX}.target.hosts[2]: ::1: where does the proxy reach its service? give upstream: ADDRESS:PORT, or strategy.port (the port the service listens on, on every host) (line 18)`,
      `${PREFIX}.target.hosts[3]: web4: where does the proxy reach its service? give upstream: ADDRESS:PORT, or strategy.port (the port the service listens on, on every host) (line 19)`,
      `${PREFIX}.target.hosts: two hosts are named "web1": give each a name of its own (name:) (line 16)`,
      `${PREFIX}.target.hosts: web1 and web1 are both at 10.0.0.5:3000 for the proxy: it could not send the requests of one and not the other (line 16)`,
      `${PREFIX}.target.hosts: web1 and web1 would deploy to the same app_path on the same host: give each its own app_path (line 16)`,
    ]);
    expect(configErrors(rolling(`type: rolling\n${PROXY}`, { target: 'host: web0.internal' }))).toEqual([
      `${PREFIX}.target.host: host and hosts both given: a rolling deployment goes to the hosts listed in hosts (move this one there) (line 15)`,
    ]);
  });

  it('refuses a batch that would leave no host serving', () => {
    expect(configErrors(rolling(`type: rolling\nmax_unavailable: 3\n${PROXY}`))).toEqual([
      `${PREFIX}.strategy.max_unavailable: max_unavailable 3 would take all 3 hosts out at once, leaving none to take the requests: at most 2 (line 23)`,
    ]);
    expect(configErrors(rolling(`type: rolling\nmax_unavailable: "100%"\n${PROXY}`))).toEqual([
      `${PREFIX}.strategy.max_unavailable: max_unavailable "100%" would take all 3 hosts out at once, leaving none to take the requests: at most 2 (line 23)`,
    ]);
    expect(configErrors(rolling(`type: rolling\nmax_unavailable: 0\n${PROXY}`))).toEqual([
      `${PREFIX}.strategy.max_unavailable: expected a number of hosts (1 or more) or a share of them such as "34%" (line 23)`,
    ]);
    expect(configErrors(rolling(`type: rolling\nmax_unavailable: "150%"\n${PROXY}`))).toEqual([
      `${PREFIX}.strategy.max_unavailable: expected a number of hosts (1 or more) or a share of them such as "34%" (line 23)`,
    ]);
  });

  it('needs hosts, a proxy (nothing else can take a host out), a health check per host, the releases layout and a service', () => {
    const noHosts = rolling(`type: rolling\n${PROXY}`).replace(/ {10}hosts:\n( {12}.*\n)+/, '');
    expect(configErrors(noHosts)).toEqual([
      `${PREFIX}.strategy: rolling deploys to several hosts in turn: list them under target.hosts, e.g. hosts: [{host: web1, upstream: "10.0.0.5:3000"}, {host: web2, upstream: "10.0.0.6:3000"}] (line 18)`,
    ]);
    expect(configErrors(rolling('type: rolling'))).toEqual([
      `${PREFIX}.strategy: rolling takes each host out of the upstream while it restarts, which only a proxy can do: add proxy: {type: nginx, upstream_file: /etc/nginx/conf.d/NAME-upstream.conf, upstream: NAME} or {type: command, switch: [...]} (line 22)`,
    ]);
    expect(configErrors(rolling(`type: rolling\n${PROXY}`, { health: 'url: "https://hello.example.com/health"' }))).toEqual([
      `${PREFIX}.health_check.url: rolling checks each host on its own: write {host} and {port} in the url (where the proxy reaches the host, e.g. "http://{host}:{port}/health"), or a loopback url (asked on each host, over SSH); "https://hello.example.com/health" would check whatever answers there (line 20)`,
    ]);
    // A loopback url is asked on each host itself.
    expect(load(rolling(`type: rolling\n${PROXY}`, { health: 'url: "http://127.0.0.1:3000/health"' })).strategy?.type).toBe('rolling');
    expect(configErrors(rolling(`type: rolling\n${PROXY}`).replace(/ {8}health_check:\n.*\n/, ''))).toEqual([
      `${PREFIX}.strategy: rolling checks each host before it goes back into the upstream: add a health_check, e.g. url: "http://{host}:{port}/health" ({host}:{port}: where the proxy reaches the host) (line 20)`,
    ]);
    expect(configErrors(rolling(`type: rolling\n${PROXY}`, { target: 'layout: in_place' }))).toEqual([
      `${PREFIX}.layout: rolling needs layout: releases: a host that fails goes back to the release it ran, which the in_place layout does not keep (line 6)`,
    ]);
    expect(configErrors(rolling(`type: rolling\n${PROXY}`).replace('          systemd_service: hello\n', ''))).toEqual([
      `${PREFIX}.strategy: rolling restarts the service on each host: set systemd_service, or commands.restart (run with FRAISIER_HOST and FRAISIER_PORT set) (line 21)`,
    ]);
    expect(configErrors(rolling(`type: rolling\n${PROXY}`).replace('        git_repo: https://git.example.com/hello.git\n', ''))).toEqual([
      `${PREFIX}.strategy: rolling deploys one commit to every host and switches a failed host back to the release it ran: it needs the repository (git_repo, or the fraise's git.repository) (line 21)`,
    ]);
    expect(configErrors(rolling(`type: rolling\n${PROXY}`).replace('type: api', 'type: worker'))).toEqual([
      `${PREFIX}.strategy.type: rolling takes each host out of the proxy's upstream while it restarts: it applies to api fraises, not to a worker fraise (line 22)`,
    ]);
  });

  it('says where hosts and the proxy SSH keys do not apply', () => {
    expect(configErrors(rolling(`type: rolling\nproxy: {type: nginx, upstream_file: /etc/nginx/x.conf, upstream: hello, user: ops}`))).toEqual([
      `${PREFIX}.strategy.proxy.user: user applies with proxy.host (the host the proxy runs on, over SSH); without host the proxy runs on this machine (line 23)`,
    ]);
    expect(configErrors(rolling('type: recreate'))).toEqual([
      `${PREFIX}.target.hosts: hosts applies to strategy rolling, which deploys to each host in turn; recreate deploys to the target's one host (host:) (line 15)`,
    ]);
    const blueGreen = rolling(`type: blue-green\nslots: {blue: 3001, green: 3002}\nproxy: {type: nginx, upstream_file: /etc/nginx/x.conf, upstream: hello, host: lb1}`, {
      health: 'url: "http://127.0.0.1:{port}/health"',
    }).replace(/ {10}hosts:\n( {12}.*\n)+/, '');
    expect(configErrors(blueGreen)).toEqual([
      `${PREFIX}.strategy.proxy.host: host applies to rolling, whose proxy may run on a host of its own: blue-green's proxy runs on the target's host, beside its slots (line 20)`,
    ]);
    expect(warnings(rolling(`type: rolling\nkeep_previous: true\n${PROXY}`))).toContain(`${PREFIX}.strategy: keep_previous applies to blue-green: rolling ignores it (line 22)`);
  });
});
