import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOutboxRig, type OutboxRig } from '../setup/notifications.js';

/*
 * E-mail through a real SMTP server in the test (smtp-server on port 0, STARTTLS off, so the
 * destination says use_tls: false): a 451 on the first try is retried, the mail arrives with
 * the Python Fraisier's subject, plain text and HTML; wrong credentials are refused for good. A
 * service the monitor found down is told the same way, without a deployment.
 */

const PASSWORD = 'sMtP-pAsSwOrD-42';

describe('e-mail notifications', () => {
  let server: SMTPServer;
  let port: number;
  let rig: OutboxRig;
  const mails: ParsedMail[] = [];
  let refuseNext = 1;

  beforeAll(async () => {
    server = new SMTPServer({
      logger: false,
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (auth.username === 'fraisier' && auth.password === PASSWORD) return callback(null, { user: 'fraisier' });
        callback(new Error('Invalid username or password'));
      },
      onMailFrom(_address, _session, callback) {
        if (refuseNext > 0) {
          refuseNext--;
          const error = new Error('Greylisted, try again later') as Error & { responseCode: number };
          error.responseCode = 451;
          return callback(error);
        }
        callback();
      },
      onData(stream, _session, callback) {
        simpleParser(stream).then(
          (mail) => {
            mails.push(mail);
            callback();
          },
          (error: Error) => callback(error),
        );
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.server.address() as AddressInfo).port;
    rig = await openOutboxRig(
      `
fraisier:
  public_url: https://deploy.example.com
notifications:
  on_failure:
    - type: email
      smtp_host: 127.0.0.1
      smtp_port: ${port}
      use_tls: false
      smtp_user: fraisier
      smtp_password: \${SMTP_PASSWORD}
      from_email: fraisier@example.com
      to_emails: [ops@example.com, oncall@example.com]
    - type: email
      smtp_host: 127.0.0.1
      smtp_port: ${port}
      use_tls: false
      smtp_user: fraisier
      smtp_password: not-the-password
      from_email: fraisier@example.com
      to_emails: [ops@example.com]
fraises:
  api:
    type: api
    environments:
      production: { target: { provider: bare-metal, app_path: /srv/api } }
`,
      { env: { SMTP_PASSWORD: PASSWORD } },
    );
  });
  afterAll(async () => {
    await rig?.dispose();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('retries a 451, then delivers plain text and HTML with the subject "[Fraisier] FAILURE: api/production"', async () => {
    const id = await rig.deployment({ status: 'failed', errorMessage: 'migrate failed: relation "orders" already exists' });
    await rig.runDue();
    rig.advance(2_500);
    await rig.runDue();

    const [good, bad] = (await rig.notifications(id)).sort((a, b) => a.destination.path.localeCompare(b.destination.path));
    expect(good!.attempts.map((a) => [a.outcome, a.statusCode])).toEqual([
      ['retry', 451],
      ['delivered', 250],
    ]);
    expect(good!.attempts[0]!.error).toMatch(/^the SMTP server answered 451: .*Greylisted/);
    expect(good!.destination.target).toBe(`smtp://127.0.0.1:${port} → ops@example.com, oncall@example.com`);
    expect(bad).toMatchObject({ status: 'failed', attemptCount: 1 });
    expect(bad!.lastError).toMatch(/^the SMTP server refused the credentials/);

    expect(mails).toHaveLength(1);
    const [mail] = mails;
    expect(mail!.subject).toBe('[Fraisier] FAILURE: api/production');
    expect(mail!.from?.text).toBe('fraisier@example.com');
    expect(mail!.to && !Array.isArray(mail!.to) ? mail!.to.value.map((a) => a.address) : []).toEqual(['ops@example.com', 'oncall@example.com']);
    expect(mail!.headers.get('x-fraisier-event-id')).toBe(`d${id}.failure`);
    expect(mail!.text).toContain('api/production: deployment failed');
    expect(mail!.text).toContain('migrate failed: relation "orders" already exists');
    expect(mail!.text).toContain(`https://deploy.example.com/#/deployments/${id}`);
    expect(mail!.html).toContain('<h2>api/production: deployment failed</h2>');
    expect(mail!.html).toContain('relation &quot;orders&quot; already exists');
    expect(mail!.html).toContain(`<a href="https://deploy.example.com/#/deployments/${id}">`);
    expect(rig.logs.join('\n')).not.toContain(PASSWORD);
    expect(JSON.stringify(await rig.notifications())).not.toContain(PASSWORD);
  });

  it('tells of a service found down: "[Fraisier] DOWN: api/production", what the check said, the environment\'s link', async () => {
    const change = await rig.health({ status: 'down', previous: 'healthy', message: 'http://127.0.0.1:3000/health: ECONNREFUSED' });
    await rig.runDue();
    expect(mails).toHaveLength(2);
    const mail = mails[1]!;
    expect(mail.subject).toBe('[Fraisier] DOWN: api/production');
    expect(mail.headers.get('x-fraisier-event-id')).toBe(`hapi/production.down.${change.at}`);
    expect(mail.text).toBe('api/production is down\n\nStatus: down\nPreviously: healthy\n\nhttp://127.0.0.1:3000/health: ECONNREFUSED\n\nhttps://deploy.example.com/#/environments/api/production');
    expect(mail.html).toContain('<a href="https://deploy.example.com/#/environments/api/production">Open api/production</a>');
  });
});
