import type { SlackSettings } from '../../config/notification-schemas.js';
import { classifyHttp, detail, emoji, excerpt, facts, headline, linkText, summary, truncate } from '../message.js';
import type { HttpResponse, NotificationPayload, Outcome, RequestChannel } from '../types.js';

/*
 * Slack incoming webhook: Block Kit blocks, with `text` as the notification's fallback (a
 * message with blocks and no text is refused by some clients). Limits: 50 blocks, 3,000
 * characters per section text, 10 fields of 2,000. Answers are plain text: 200 "ok"; 404
 * channel_not_found / no_service and 410 channel_is_archived mean the hook is gone.
 */

const SECTION_MAX = 3_000;
const FIELD_MAX = 2_000;

/** Slack's mrkdwn reads &, < and > as markup. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function slackChannel(settings: SlackSettings): RequestChannel {
  return {
    render(p: NotificationPayload) {
      const blocks: unknown[] = [
        { type: 'section', text: { type: 'mrkdwn', text: truncate(`${emoji(p)} *${escape(headline(p))}*`, SECTION_MAX) } },
        {
          type: 'section',
          fields: facts(p)
            .slice(0, 10)
            .map(([label, value]) => ({ type: 'mrkdwn', text: truncate(`*${escape(label)}*\n${escape(value)}`, FIELD_MAX) })),
        },
      ];
      const text = detail(p);
      // ``` and its escapes take their share of the section's 3,000 characters.
      if (text) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${truncate(escape(text), SECTION_MAX - 200)}\`\`\`` } });
      if (p.url) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${p.url}|${escape(linkText(p))}>` }] });
      const fallback = `${emoji(p)} ${summary(p, 300)}`;
      return {
        url: settings.webhook_url,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: fallback, blocks }),
      };
    },
    classify(response: HttpResponse): Outcome {
      if (response.status === 404 || response.status === 410) {
        return { kind: 'disable', reason: `Slack answered ${response.status} ${excerpt(response.body, 80)}: the webhook or its channel is gone` };
      }
      return classifyHttp(response, 'Slack');
    },
  };
}
