import type { GitIssueSettings } from '../../config/notification-schemas.js';
import type { HttpResponse } from '../types.js';
import { type Call, classifyStep, type IssueApi, ISSUE_LABEL, issueChannel, jsonArray, repoPath, StepFailed } from './git-issue.js';

/*
 * Gitea and Forgejo REST v1: GET /repos/{o}/{r}/issues?state=open&type=issues&labels=… , POST
 * …/issues {title, body, labels: ids, assignees} → 201 (labels by id: each is looked up, and
 * created when missing), POST …/issues/{n}/comments {body} → 201, PATCH …/issues/{n} {state:
 * closed} → 201.
 */

export function giteaIssueChannel(settings: GitIssueSettings) {
  const base = settings.api_base!.replace(/\/+$/, '');
  const repo = `${base}/api/v1/repos/${repoPath(settings.repo)}`;
  const headers = { authorization: `token ${settings.token}`, 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'Fraisier' };

  async function labelIds(call: Call): Promise<number[]> {
    const wanted = [ISSUE_LABEL, ...(settings.labels ?? [])];
    const existing = jsonArray<{ id: number; name: string }>(await call({ url: `${repo}/labels?limit=50`, method: 'GET', headers }, 'list labels'), 'list labels');
    const ids: number[] = [];
    for (const name of wanted) {
      const found = existing.find((label) => label.name === name);
      if (found) {
        ids.push(found.id);
        continue;
      }
      const created = await call({ url: `${repo}/labels`, method: 'POST', headers, body: JSON.stringify({ name, color: '#d73a4a' }) }, `create label ${name}`);
      const id = (JSON.parse(created.body) as { id?: unknown }).id;
      if (typeof id !== 'number') throw new StepFailed({ kind: 'retry', reason: `Gitea (create label ${name}): no id in the answer` });
      ids.push(id);
    }
    return ids;
  }

  const issues: IssueApi = {
    async findOpen(call: Call) {
      const response = await call({ url: `${repo}/issues?state=open&type=issues&labels=${encodeURIComponent(ISSUE_LABEL)}&limit=50`, method: 'GET', headers }, 'list issues');
      return jsonArray<{ number: number; body: string | null }>(response, 'list issues').map((issue) => ({ number: issue.number, body: issue.body ?? '' }));
    },
    async open(call, title, body) {
      const labels = await labelIds(call);
      await call({ url: `${repo}/issues`, method: 'POST', headers, body: JSON.stringify({ title, body, labels, ...(settings.assignees?.length ? { assignees: settings.assignees } : {}) }) }, 'open an issue');
    },
    async comment(call, issue, body) {
      await call({ url: `${repo}/issues/${issue.number}/comments`, method: 'POST', headers, body: JSON.stringify({ body }) }, `comment on #${issue.number}`);
    },
    async close(call, issue) {
      await call({ url: `${repo}/issues/${issue.number}`, method: 'PATCH', headers, body: JSON.stringify({ state: 'closed' }) }, `close #${issue.number}`);
    },
    classify: (response: HttpResponse, step: string) => classifyStep('Gitea', response, step),
  };
  return issueChannel(issues);
}
