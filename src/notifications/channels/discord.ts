import type { DiscordSettings } from '../../config/notification-schemas.js';
import { classifyHttp, detail, excerpt, facts, headline, tone, truncate } from '../message.js';
import type { HttpResponse, NotificationPayload, Outcome, RequestChannel } from '../types.js';

/*
 * Discord webhook: one embed. `?wait=true`, so that a message Discord could not save is an
 * error rather than a silent 204. Limits: title 256, description 4,096, 25 fields (name 256,
 * value 1,024), footer 2,048, and 6,000 characters for all embeds together. A 429 says when to
 * come back in Retry-After and in its body's retry_after; after a 404 the webhook is gone.
 */

const COLORS = { started: 0x3b82f6, success: 0x22c55e, failure: 0xef4444, rollback: 0xf59e0b, approval: 0xa855f7 } as const;
const EMBED_TOTAL_MAX = 6_000;

export function discordChannel(settings: DiscordSettings): RequestChannel {
  return {
    render(p: NotificationPayload) {
      const title = truncate(headline(p), 256);
      const fields = facts(p).map(([name, value]) => ({ name: truncate(name, 256), value: truncate(value, 1_024), inline: true }));
      const footer = 'Fraisier';
      const used = title.length + footer.length + fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
      const text = detail(p);
      const embed: Record<string, unknown> = {
        title,
        color: COLORS[tone(p)],
        fields,
        footer: { text: footer },
        timestamp: p.timestamp,
        ...(p.url ? { url: p.url } : {}),
      };
      if (text) embed.description = truncate(text, Math.min(4_096, EMBED_TOTAL_MAX - used - 10));
      const url = new URL(settings.webhook_url);
      url.searchParams.set('wait', 'true');
      return {
        url: url.toString(),
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          ...(settings.username ? { username: settings.username } : {}),
          embeds: [embed],
          // Text from a commit or an error never pings anyone.
          allowed_mentions: { parse: [] },
        }),
      };
    },
    classify(response: HttpResponse): Outcome {
      if (response.status === 404) return { kind: 'disable', reason: `Discord answered 404 ${excerpt(response.body, 80)}: the webhook was deleted` };
      const outcome = classifyHttp(response, 'Discord');
      if (response.status === 429 && outcome.kind === 'retry' && outcome.afterMs === undefined) {
        const after = retryAfterFromBody(response.body);
        if (after !== undefined) return { ...outcome, afterMs: after };
      }
      return outcome;
    },
  };
}

function retryAfterFromBody(body: string): number | undefined {
  try {
    const value = (JSON.parse(body) as { retry_after?: unknown }).retry_after;
    return typeof value === 'number' && value >= 0 ? Math.ceil(value * 1000) : undefined;
  } catch {
    return undefined;
  }
}
