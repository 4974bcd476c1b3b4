import type { TeamsSettings } from '../../config/notification-schemas.js';
import { alarming, classifyHttp, detail, facts, headline, linkText, tone, truncate, withinBytes } from '../message.js';
import type { HttpResponse, NotificationPayload, Outcome, RequestChannel } from '../types.js';

/*
 * Microsoft Teams through a Workflows webhook ("When a Teams webhook request is received"): the
 * Office 365 connectors are retired. The flow expects a message envelope whose attachments hold
 * an Adaptive Card 1.4 (without `attachments` it fails inside the flow). Any 2xx only means the
 * flow accepted the request: it posts asynchronously, and a card it cannot post (over 28 KB)
 * shows in the flow's run history, not here, so cards are kept well under that.
 */

const COLORS = { started: 'accent', success: 'good', failure: 'attention', rollback: 'warning', approval: 'accent' } as const;
const DETAIL_MAX = 12_000;
/** Teams refuses messages over 28 KB (in the flow's history only): a margin for the envelope it adds. */
const BODY_MAX_BYTES = 24_000;

export function teamsChannel(settings: TeamsSettings): RequestChannel {
  return {
    render(p: NotificationPayload) {
      const card = (detailMax: number) => {
        const body: unknown[] = [
          { type: 'TextBlock', size: 'Medium', weight: 'Bolder', text: truncate(headline(p), 300), color: COLORS[tone(p)], wrap: true },
          { type: 'FactSet', facts: facts(p).map(([title, value]) => ({ title, value })) },
        ];
        const text = detail(p);
        if (text) body.push({ type: 'TextBlock', text: truncate(text, detailMax), wrap: true, fontType: 'Monospace', color: p.event === 'approval' || (p.event === 'health' && !alarming(p)) ? 'Default' : 'Attention' });
        if (settings.mention_on_failure && alarming(p)) body.push({ type: 'TextBlock', text: `cc ${settings.mention_on_failure}`, wrap: true });
        const content = {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          ...(p.url ? { actions: [{ type: 'Action.OpenUrl', title: linkText(p), url: p.url }] } : {}),
        };
        return JSON.stringify({ type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content }] });
      };
      return {
        url: settings.webhook_url,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: withinBytes(card, BODY_MAX_BYTES, DETAIL_MAX),
      };
    },
    classify(response: HttpResponse): Outcome {
      const outcome = classifyHttp(response, 'Teams');
      return outcome.kind === 'ok' ? { kind: 'ok', detail: `accepted (${response.status}): the flow posts the card on its own` } : outcome;
    },
  };
}
