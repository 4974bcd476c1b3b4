import type { Command } from 'commander';
import { READ_ONLY, withClient } from '../client/open-client.js';
import type { WebhookEventView } from '../client/views.js';
import { clean, shortVersion, statusColor } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { createTerminal, printData } from '../output/terminal.js';
import { relativeTime } from '../output/time.js';
import { addJsonOption, addModeOptions, dataFormat, examples, integer, type JsonFlag, type ModeFlags } from '../options.js';

export function registerWebhooks(program: Command): void {
  const command = program
    .command('webhooks')
    .description('recent webhook deliveries, newest first: what each one deployed, or why it was ignored or refused')
    .option('-n, --limit <n>', 'how many (1 to 100; default 20)', integer('--limit', 1, 100), 20);
  addModeOptions(command);
  addJsonOption(command);
  examples(command, ['fraisier webhooks', 'fraisier webhooks --limit 50', 'fraisier webhooks --json | jq \'.[] | select(.outcome == "refused")\'']);
  command.action(async (flags: ModeFlags & JsonFlag & { limit: number }) => {
    const term = createTerminal();
    const events = await withClient(flags, (client) => client.webhookEvents({ limit: flags.limit }), READ_ONLY);
    if (dataFormat(flags)) return printData(term, flags, events);
    if (events.length === 0) return term.out('No webhook deliveries recorded.');
    const c = term.color;
    const lines = renderTable(
      events,
      [
        { header: 'ID', value: (e) => e.id, align: 'right' },
        { header: 'RECEIVED', value: (e) => relativeTime(e.receivedAt) },
        { header: 'PROVIDER', value: (e) => e.providerName },
        { header: 'EVENT', value: (e) => e.eventType },
        { header: 'REF', value: (e) => clean(e.branch ?? (e.tag ? `tag ${e.tag}` : '-')), shrink: true },
        { header: 'COMMIT', value: (e) => shortVersion(e.commitSha).slice(0, 12) },
        { header: 'OUTCOME', value: (e) => e.outcome, style: (text, e) => statusColor(c, e.outcome)(text) },
        { header: 'RESULT', value: result, shrink: true },
      ],
      term.width,
      c.bold,
    );
    for (const line of lines) term.out(line);
  });
}

function result(e: WebhookEventView): string {
  const deployment = e.deployment ? `deployment #${e.deployment.id} ${e.deployment.fraise}/${e.deployment.environment} ${e.deployment.status}` : '';
  const reason = e.reason ? clean(e.reason) : '';
  return [deployment, deployment && reason.startsWith('queued') ? '' : reason].filter(Boolean).join(': ') || '-';
}
