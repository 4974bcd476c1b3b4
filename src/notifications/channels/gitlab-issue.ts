import type { GitIssueSettings } from '../../config/notification-schemas.js';
import type { HttpResponse } from '../types.js';
import { type Call, classifyStep, type IssueApi, ISSUE_LABEL, issueChannel, jsonArray } from './git-issue.js';

/*
 * GitLab REST v4, the project by its URL-encoded path: GET /projects/:id/issues?state=opened&
 * labels=… , POST /projects/:id/issues {title, description, labels: "a,b"} → 201, POST
 * …/issues/:iid/notes {body} → 201, PUT …/issues/:iid {state_event: close} → 200. GitLab assigns
 * by user id, not name: `assignees` is not sent.
 */

export function gitlabIssueChannel(settings: GitIssueSettings) {
  const base = (settings.api_base ?? 'https://gitlab.com').replace(/\/+$/, '');
  const project = `${base}/api/v4/projects/${encodeURIComponent(settings.repo)}`;
  const headers = { 'private-token': settings.token, 'content-type': 'application/json', 'user-agent': 'Fraisier' };
  const issues: IssueApi = {
    async findOpen(call: Call) {
      const response = await call({ url: `${project}/issues?state=opened&labels=${encodeURIComponent(ISSUE_LABEL)}&per_page=100`, method: 'GET', headers }, 'list issues');
      return jsonArray<{ iid: number; description: string | null }>(response, 'list issues').map((issue) => ({ number: issue.iid, body: issue.description ?? '' }));
    },
    async open(call, title, body) {
      const labels = [ISSUE_LABEL, ...(settings.labels ?? [])].join(',');
      await call({ url: `${project}/issues`, method: 'POST', headers, body: JSON.stringify({ title, description: body, labels }) }, 'open an issue');
    },
    async comment(call, issue, body) {
      await call({ url: `${project}/issues/${issue.number}/notes`, method: 'POST', headers, body: JSON.stringify({ body }) }, `comment on #${issue.number}`);
    },
    async close(call, issue) {
      await call({ url: `${project}/issues/${issue.number}`, method: 'PUT', headers, body: JSON.stringify({ state_event: 'close' }) }, `close #${issue.number}`);
    },
    classify: (response: HttpResponse, step: string) => classifyStep('GitLab', response, step),
  };
  return issueChannel(issues);
}
