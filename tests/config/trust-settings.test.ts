import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { configErrors } from '../setup/config-errors.js';

/*
 * fraisier.allowed_origins and fraisier.allowed_hosts (and their variables): read into one
 * canonical spelling the server compares with, and refused with their path when they are not
 * origins or host names, "*" included.
 */

const FRAISES = 'fraises:\n  a:\n    type: worker\n    environments:\n      prod: { app_path: /srv/a }\n';
const withSettings = (lines: string) => `fraisier:\n${lines}${FRAISES}`;
const settingsOf = (text: string, env: Record<string, string> = {}) => parseConfig(text, { env }).config.settings;

const errorsOf = configErrors;

describe('allowed origins and hosts', () => {
  it('are empty by default', () => {
    expect(settingsOf(FRAISES)).toMatchObject({ allowedOrigins: [], allowedHosts: [] });
  });

  it('are read in canonical form from the file', () => {
    const settings = settingsOf(
      withSettings(
        '  allowed_origins: ["https://CI.example.com/", "http://localhost:5173", "https://ci.example.com:443"]\n' +
          '  allowed_hosts: [Fraisier.Example.COM., .lan.example, "::1", 10.0.0.5]\n',
      ),
    );
    expect(settings.allowedOrigins).toEqual(['https://ci.example.com', 'http://localhost:5173']);
    expect(settings.allowedHosts).toEqual(['fraisier.example.com', '.lan.example', '[::1]', '10.0.0.5']);
  });

  it('are replaced by FRAISIER_ALLOWED_ORIGINS and FRAISIER_ALLOWED_HOSTS (comma-separated); empty ones count as unset', () => {
    const text = withSettings('  allowed_origins: ["https://file.example.com"]\n  allowed_hosts: [file.example.com]\n');
    const settings = settingsOf(text, { FRAISIER_ALLOWED_ORIGINS: 'https://a.example.com, http://b.example.com:8080,', FRAISIER_ALLOWED_HOSTS: 'a.example.com ,.b.example.com' });
    expect(settings.allowedOrigins).toEqual(['https://a.example.com', 'http://b.example.com:8080']);
    expect(settings.allowedHosts).toEqual(['a.example.com', '.b.example.com']);
    expect(settingsOf(text, { FRAISIER_ALLOWED_ORIGINS: '', FRAISIER_ALLOWED_HOSTS: ' ' })).toMatchObject({
      allowedOrigins: ['https://file.example.com'],
      allowedHosts: ['file.example.com'],
    });
  });

  it('refuse what is not an origin or a host name, by path and line', () => {
    expect(errorsOf(withSettings('  allowed_origins: ["*", "ci.example.com", "https://ci.example.com/app", "ftp://x.example.com", "null"]\n'))).toEqual([
      'fraisier.allowed_origins[0]: list each origin: "*" would let any web page deploy (line 2)',
      'fraisier.allowed_origins[1]: expected an origin such as "https://ci.example.com" (scheme, host and port; no path), got "ci.example.com" (line 2)',
      'fraisier.allowed_origins[2]: expected an origin such as "https://ci.example.com" (scheme, host and port; no path), got "https://ci.example.com/app" (line 2)',
      'fraisier.allowed_origins[3]: expected an origin such as "https://ci.example.com" (scheme, host and port; no path), got "ftp://x.example.com" (line 2)',
      'fraisier.allowed_origins[4]: expected an origin such as "https://ci.example.com" (scheme, host and port; no path), got "null" (line 2)',
    ]);
    expect(errorsOf(withSettings('  allowed_hosts: ["*", "https://fraisier.example.com", "fraisier.example.com:8080", "a b"]\n'))).toEqual([
      'fraisier.allowed_hosts[0]: list each host name: "*" would let any DNS name reach this server (DNS rebinding) (line 2)',
      'fraisier.allowed_hosts[1]: expected a host name such as "fraisier.example.com", or ".example.com" for its subdomains (no scheme, no port), got "https://fraisier.example.com" (line 2)',
      'fraisier.allowed_hosts[2]: expected a host name such as "fraisier.example.com", or ".example.com" for its subdomains (no scheme, no port), got "fraisier.example.com:8080" (line 2)',
      'fraisier.allowed_hosts[3]: expected a host name such as "fraisier.example.com", or ".example.com" for its subdomains (no scheme, no port), got "a b" (line 2)',
    ]);
    expect(errorsOf(FRAISES, { FRAISIER_ALLOWED_HOSTS: 'ok.example.com,evil.example.com:80' })).toEqual([
      'FRAISIER_ALLOWED_HOSTS[1]: expected a host name such as "fraisier.example.com", or ".example.com" for its subdomains (no scheme, no port), got "evil.example.com:80"',
    ]);
  });
});

describe('trusted proxies', () => {
  it('are addresses, CIDR ranges or proxy-addr names; anything else is refused by path', () => {
    expect(settingsOf(withSettings('  webhook:\n    trust_proxy: [loopback, 10.0.0.0/8, "::1"]\n')).webhook.trustProxy).toEqual(['loopback', '10.0.0.0/8', '::1']);
    expect(errorsOf(withSettings('  webhook:\n    trust_proxy: [10.0.0.0/8, proxy.example.com]\n'))).toEqual([
      'fraisier.webhook.trust_proxy: invalid IP address: proxy.example.com: expected IP addresses, CIDR ranges ("10.0.0.0/8") or loopback, linklocal, uniquelocal (line 3)',
    ]);
    expect(errorsOf(FRAISES, { FRAISIER_TRUST_PROXY: '10.0.0.0/40' })).toEqual([
      'FRAISIER_TRUST_PROXY: invalid range on address: 10.0.0.0/40: expected IP addresses, CIDR ranges ("10.0.0.0/8") or loopback, linklocal, uniquelocal',
    ]);
  });
});
