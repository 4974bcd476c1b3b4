import type { EmailSettings } from '../../config/notification-schemas.js';
import { detail, eventWord, facts, headline, linkText, plainText, truncate } from '../message.js';
import type { Channel, DeliveryResult, NotificationPayload, Outcome } from '../types.js';

/*
 * E-mail over SMTP with nodemailer (loaded on the first mail: the CLI never pays for it).
 * use_tls (the Python Fraisier's key, default true) requires STARTTLS; use_tls: false sends in
 * clear; secure: true is TLS from the first byte (port 465). Plain text and HTML, the subject in
 * the Python Fraisier's form: "[Fraisier] FAILURE: api/production". SMTP's 4xx replies and lost
 * connections are retried; 5xx replies and refused credentials are not.
 */

const DETAIL_MAX = 64_000;

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function subjectOf(settings: Pick<EmailSettings, 'subject_prefix'>, p: NotificationPayload): string {
  return `${settings.subject_prefix ?? '[Fraisier]'} ${eventWord(p)}: ${p.fraise}/${p.environment}`.trim();
}

export function emailHtml(p: NotificationPayload): string {
  const rows = facts(p)
    .map(([label, value]) => `<tr><th align="left">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`)
    .join('');
  const text = detail(p);
  return [
    '<!doctype html><html><body>',
    `<h2>${escapeHtml(headline(p))}</h2>`,
    `<table>${rows}</table>`,
    text ? `<pre>${escapeHtml(truncate(text, DETAIL_MAX))}</pre>` : '',
    p.url ? `<p><a href="${escapeHtml(p.url)}">${escapeHtml(linkText(p))}</a></p>` : '',
    '</body></html>',
  ].join('');
}

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
}

/** How an SMTP failure is read. */
export function classifySmtp(error: SmtpError): Outcome {
  const said = error.response ? `: ${truncate(error.response.replace(/\s+/g, ' '), 200)}` : '';
  if (error.code === 'EAUTH') return { kind: 'permanent', reason: `the SMTP server refused the credentials${said}` };
  if (typeof error.responseCode === 'number') {
    if (error.responseCode >= 400 && error.responseCode < 500) return { kind: 'retry', reason: `the SMTP server answered ${error.responseCode}${said}` };
    if (error.responseCode >= 500) return { kind: 'permanent', reason: `the SMTP server refused it with ${error.responseCode}${said}` };
  }
  return { kind: 'retry', reason: `SMTP: ${error.code ? `${error.code} ` : ''}${truncate(error.message.split('\n')[0] ?? '', 200)}` };
}

export function emailChannel(settings: EmailSettings, timeoutMs: number): Channel {
  return {
    async deliver(p: NotificationPayload, _transport, signal: AbortSignal): Promise<DeliveryResult> {
      const { createTransport } = await import('nodemailer');
      const secure = settings.secure === true;
      const useTls = settings.use_tls !== false;
      const transporter = createTransport({
        host: settings.smtp_host ?? 'localhost',
        port: settings.smtp_port ?? (secure ? 465 : 587),
        secure,
        requireTLS: useTls && !secure,
        ignoreTLS: !useTls,
        ...(settings.smtp_user ? { auth: { user: settings.smtp_user, pass: settings.smtp_password ?? '' } } : {}),
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs,
      });
      try {
        const info = await transporter.sendMail({
          from: settings.from_email,
          to: settings.to_emails,
          subject: subjectOf(settings, p),
          text: plainText(p, DETAIL_MAX),
          html: emailHtml(p),
          headers: { 'X-Fraisier-Event-Id': p.eventId },
          signal,
        });
        const code = /^(\d{3})/.exec(String(info.response ?? ''))?.[1];
        // Sent to the recipients the server took; sending again would mail those twice.
        const refused = (info.rejected as unknown[]).map((r) => (typeof r === 'string' ? r : String((r as { address?: unknown }).address)));
        const outcome = {
          kind: 'ok' as const,
          detail: `accepted for ${info.accepted.length} recipient${info.accepted.length === 1 ? '' : 's'}`,
          ...(refused.length ? { warning: `the SMTP server refused ${refused.join(', ')}` } : {}),
        };
        return { outcome, statusCode: code ? Number(code) : null };
      } catch (error) {
        const smtp = error as SmtpError;
        return { outcome: classifySmtp(smtp), statusCode: typeof smtp.responseCode === 'number' ? smtp.responseCode : null };
      } finally {
        transporter.close();
      }
    },
  };
}
