import { classifyHttp, detail, facts, headline, linkText, resolves, truncate } from '../message.js';
import type { Channel, DeliveryResult, HttpRequest, HttpResponse, NotificationPayload, Outcome, Transport } from '../types.js';

/*
 * One open issue per fraise and environment, on GitHub, GitLab or Gitea. The issue is found by
 * a marker in its body, <!-- fraisier:<fraise>/<environment> -->, among the open issues carrying
 * the fixed label `fraisier` (never by search: GitHub's is eventually consistent and rate
 * limited to 30 a minute). A failure or rollback, or the monitor finding the service down or
 * degraded, comments on it, or opens it; the next success, or the service found healthy again,
 * comments and closes every match. Each service's REST API is in its own file; this is the
 * conversation they share. A step that fails is classified as its answer says; the whole
 * conversation is retried (a retried comment may then appear twice: delivery is at least once).
 */

export const ISSUE_LABEL = 'fraisier';
const BODY_MAX = 60_000; // GitHub refuses bodies over 65,536 characters

export interface OpenIssue {
  /** GitHub and Gitea: number; GitLab: iid. */
  number: number;
  body: string;
}

/** Sends one request; resolves with a 2xx answer, rejects with StepFailed otherwise. */
export type Call = (request: HttpRequest, step: string) => Promise<HttpResponse>;

export interface IssueApi {
  /** Open issues (not pull requests) with the fixed label. */
  findOpen(call: Call): Promise<OpenIssue[]>;
  open(call: Call, title: string, body: string): Promise<void>;
  comment(call: Call, issue: OpenIssue, body: string): Promise<void>;
  close(call: Call, issue: OpenIssue): Promise<void>;
  /** How an answer that is not 2xx is read (rate limits differ per service). */
  classify(response: HttpResponse, step: string): Outcome;
}

export class StepFailed extends Error {
  constructor(readonly outcome: Outcome) {
    super(outcome.kind === 'ok' ? 'ok' : outcome.reason);
  }
}

export function markerOf(p: Pick<NotificationPayload, 'fraise' | 'environment'>): string {
  return `<!-- fraisier:${p.fraise}/${p.environment} -->`;
}

export function issueTitle(p: NotificationPayload): string {
  return p.event === 'health' ? `[fraisier] ${headline(p)}` : `[fraisier] ${p.fraise}/${p.environment}: deployments failing`;
}

/** A fence longer than any run of backticks in the text, so nothing in it closes the block. */
function fenced(text: string): string {
  const longest = Math.max(2, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}\n${text}\n${fence}`;
}

export function issueBody(p: NotificationPayload): string {
  const lines = [`**${headline(p)}**`, '', '| | |', '|---|---|', ...facts(p).map(([label, value]) => `| ${label} | ${value.replace(/\|/g, '\\|')} |`)];
  const text = detail(p);
  if (text) lines.push('', fenced(truncate(text, BODY_MAX - 2_000)));
  if (p.url) lines.push('', `[${linkText(p)}](${p.url})`);
  lines.push('', markerOf(p));
  return lines.join('\n');
}

function resolvedBody(p: NotificationPayload): string {
  if (p.event === 'health') return `✅ Resolved: ${p.fraise}/${p.environment} is healthy again (${p.message || 'its health check passed'}; it was ${p.previous}).${p.url ? ` [Open it](${p.url})` : ''}`;
  const version = p.newVersion ?? p.gitCommit;
  return `✅ Resolved: deployment #${p.deploymentId} of ${p.fraise}/${p.environment} succeeded${version ? ` (${version})` : ''}.${p.url ? ` [Open it](${p.url})` : ''}`;
}

export function issueChannel(api: IssueApi): Channel {
  return {
    async deliver(p: NotificationPayload, transport: Transport): Promise<DeliveryResult> {
      let statusCode: number | null = null;
      const call: Call = async (request, step) => {
        const response = await transport.send(request);
        statusCode = response.status;
        if (response.status >= 200 && response.status < 300) return response;
        throw new StepFailed(api.classify(response, step));
      };
      try {
        const marker = markerOf(p);
        const matching = (await api.findOpen(call)).filter((issue) => issue.body.includes(marker));
        if (resolves(p)) {
          for (const issue of matching) {
            await api.comment(call, issue, resolvedBody(p));
            await api.close(call, issue);
          }
          return { outcome: { kind: 'ok', detail: matching.length ? `closed ${matching.map((i) => `#${i.number}`).join(', ')}` : 'no open issue' }, statusCode };
        }
        const open = matching[0];
        if (open) {
          await api.comment(call, open, issueBody(p));
          return { outcome: { kind: 'ok', detail: `commented on #${open.number}` }, statusCode };
        }
        await api.open(call, issueTitle(p), issueBody(p));
        return { outcome: { kind: 'ok', detail: 'opened an issue' }, statusCode };
      } catch (error) {
        if (error instanceof StepFailed) return { outcome: error.outcome, statusCode };
        throw error;
      }
    },
  };
}

/** The service's answer to a step, read with the common rules. */
export function classifyStep(service: string, response: HttpResponse, step: string): Outcome {
  return classifyHttp(response, `${service} (${step})`);
}

/** owner/name → "owner/name" with each part encoded. */
export function repoPath(repo: string): string {
  return repo.split('/').map(encodeURIComponent).join('/');
}

/** A JSON array from an answer, or an error naming the step. */
export function jsonArray<T>(response: HttpResponse, step: string): T[] {
  let value: unknown;
  try {
    value = JSON.parse(response.body);
  } catch {
    throw new StepFailed({ kind: 'retry', reason: `${step}: the answer is not JSON` });
  }
  if (!Array.isArray(value)) throw new StepFailed({ kind: 'retry', reason: `${step}: expected a list` });
  return value as T[];
}
