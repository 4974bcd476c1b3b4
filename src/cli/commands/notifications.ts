import type { Command } from 'commander';
import { NOTIFICATION_STATUSES } from '../../model.js';
import { READ_ONLY, withClient } from '../client/open-client.js';
import type { NotificationView } from '../client/views.js';
import { CliError, EXIT } from '../exit-codes.js';
import { clean, statusColor } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { createTerminal, printData, type Terminal } from '../output/terminal.js';
import { relativeTime } from '../output/time.js';
import { addJsonOption, addModeOptions, dataFormat, examples, integer, type JsonFlag, type ModeFlags } from '../options.js';

const STATUSES = NOTIFICATION_STATUSES.map((s) => s.toUpperCase());

export function registerNotifications(program: Command): void {
  const command = program
    .command('notifications')
    .description('notifications sent (or to send) for deployments and changes of health, newest first; with --deployment, every attempt of each')
    .option('-d, --deployment <id>', 'only this deployment\'s, with their attempts')
    .option('--status <status>', `only this status (${STATUSES.join(', ')})`)
    .option('-n, --limit <n>', 'how many (1 to 100; default 20)', integer('--limit', 1, 100), 20);
  addModeOptions(command);
  addJsonOption(command);
  examples(command, [
    'fraisier notifications',
    'fraisier notifications --deployment 42',
    'fraisier notifications --status PENDING',
    'fraisier notifications --status FAILED --json | jq \'.[] | {id, lastError}\'',
  ]);
  command.action(async (flags: ModeFlags & JsonFlag & { deployment?: string; status?: string; limit: number }) => {
    const term = createTerminal();
    const status = flags.status?.toUpperCase();
    if (status && !STATUSES.includes(status)) throw new CliError(`--status: expected one of ${STATUSES.join(', ')} (got "${flags.status}")`, EXIT.USAGE);
    const notifications = await withClient(
      flags,
      (client) => client.notifications({ first: flags.limit, ...(flags.deployment ? { deploymentId: flags.deployment } : {}), ...(status ? { status } : {}) }),
      READ_ONLY,
    );
    if (dataFormat(flags)) return printData(term, flags, notifications);
    if (notifications.length === 0) return term.out(flags.deployment ? `No notifications for deployment #${flags.deployment}.` : 'No notifications.');
    const c = term.color;
    const lines = renderTable(
      notifications,
      [
        { header: 'ID', value: (n) => n.id, align: 'right' },
        { header: 'DEPLOYMENT', value: (n) => (n.deployment ? `#${n.deployment.id}` : '-') },
        { header: 'PAIR', value: (n) => `${n.fraise}/${n.environment}` },
        { header: 'EVENT', value: eventLabel },
        { header: 'DESTINATION', value: (n) => `${n.destination.type} ${clean(n.destination.target)}`, shrink: true },
        { header: 'STATUS', value: (n) => n.status, style: (text, n) => statusColor(c, n.status)(text) },
        { header: 'TRIES', value: (n) => String(n.attemptCount), align: 'right' },
        { header: 'LAST', value: last, shrink: true },
      ],
      term.width,
      c.bold,
    );
    for (const line of lines) term.out(line);
    if (flags.deployment) printAttempts(term, notifications);
  });
}

/** "FAILURE", or for a change of health "HEALTH DOWN" (what it changed to). */
function eventLabel(n: NotificationView): string {
  return n.healthChange ? `${n.event} ${n.healthChange.status}` : n.event;
}

function last(n: NotificationView): string {
  if (n.status === 'PENDING' && n.nextAttemptAt) return `next try ${relativeTime(n.nextAttemptAt)}${n.lastError ? `: ${clean(n.lastError)}` : ''}`;
  if (n.lastError) return clean(n.lastError);
  return n.completedAt ? relativeTime(n.completedAt) : '-';
}

function printAttempts(term: Terminal, notifications: NotificationView[]): void {
  const c = term.color;
  for (const n of notifications) {
    term.out('');
    term.out(`${c.bold(`#${n.id}`)} ${eventLabel(n)} → ${n.destination.type} ${clean(n.destination.target)} (${n.destination.path})`);
    if (n.attempts.length === 0) term.out(`  ${c.dim(n.status === 'PENDING' ? 'not tried yet' : 'never sent')}`);
    for (const a of n.attempts) {
      const code = a.statusCode === null ? 'no answer' : String(a.statusCode);
      const retry = a.retryAt ? `; next try ${a.retryAt}` : '';
      term.out(`  ${a.attempt}. ${a.at}  ${statusColor(c, a.outcome)(a.outcome)}  ${code}  ${a.durationMs} ms${a.error ? `  ${clean(a.error)}` : ''}${retry}`);
    }
  }
}
