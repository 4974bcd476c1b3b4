import type { GitIssueSettings } from '../../config/notification-schemas.js';
import { retryAfterMs } from '../message.js';
import type { HttpResponse, Outcome } from '../types.js';
import { type Call, classifyStep, type IssueApi, ISSUE_LABEL, issueChannel, jsonArray, repoPath } from './git-issue.js';

/*
 * GitHub REST (X-GitHub-Api-Version 2022-11-28): GET /repos/{o}/{r}/issues?state=open&labels=…
 * (pull requests are issues there: skipped), POST …/issues {title, body, labels, assignees} → 201,
 * POST …/issues/{n}/comments {body} → 201, PATCH …/issues/{n} {state: closed, state_reason:
 * completed} → 200. A 403 or 429 with Retry-After or x-ratelimit-remaining: 0 is a rate limit.
 */

export function githubIssueChannel(settings: GitIssueSettings) {
  const api = (settings.api_base ?? 'https://api.github.com').replace(/\/+$/, '');
  const repo = `${api}/repos/${repoPath(settings.repo)}`;
  const headers = {
    accept: 'application/vnd.github+json',
    authorization: `Bearer ${settings.token}`,
    'x-github-api-version': '2022-11-28',
    'user-agent': 'Fraisier',
    'content-type': 'application/json',
  };
  const issues: IssueApi = {
    async findOpen(call: Call) {
      const response = await call({ url: `${repo}/issues?state=open&labels=${encodeURIComponent(ISSUE_LABEL)}&per_page=100`, method: 'GET', headers }, 'list issues');
      return jsonArray<{ number: number; body: string | null; pull_request?: unknown }>(response, 'list issues')
        .filter((issue) => issue.pull_request === undefined)
        .map((issue) => ({ number: issue.number, body: issue.body ?? '' }));
    },
    async open(call, title, body) {
      const labels = [ISSUE_LABEL, ...(settings.labels ?? [])];
      await call({ url: `${repo}/issues`, method: 'POST', headers, body: JSON.stringify({ title, body, labels, ...(settings.assignees?.length ? { assignees: settings.assignees } : {}) }) }, 'open an issue');
    },
    async comment(call, issue, body) {
      await call({ url: `${repo}/issues/${issue.number}/comments`, method: 'POST', headers, body: JSON.stringify({ body }) }, `comment on #${issue.number}`);
    },
    async close(call, issue) {
      await call({ url: `${repo}/issues/${issue.number}`, method: 'PATCH', headers, body: JSON.stringify({ state: 'closed', state_reason: 'completed' }) }, `close #${issue.number}`);
    },
    classify(response: HttpResponse, step: string): Outcome {
      const limited = response.status === 429 || (response.status === 403 && (response.headers.has('retry-after') || response.headers.get('x-ratelimit-remaining') === '0'));
      if (limited) {
        const reset = Number(response.headers.get('x-ratelimit-reset'));
        const afterMs = retryAfterMs(response) ?? (Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - Date.now()) : undefined);
        return { kind: 'retry', reason: `GitHub (${step}): rate limited (${response.status})`, ...(afterMs !== undefined ? { afterMs } : {}) };
      }
      return classifyStep('GitHub', response, step);
    },
  };
  return issueChannel(issues);
}
