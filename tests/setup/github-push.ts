import { createHmac, randomUUID } from 'node:crypto';

/*
 * A push to main of acme/hello, as GitHub delivers it: its headers, and the body signed with the
 * webhook secret (HMAC-SHA256, `sha256=<hex>`), sent to a running server's /webhook/github.
 */

export interface GithubPush {
  sha: string;
  /** The branch's previous head (default: none, a new branch). */
  before?: string;
  message: string;
  author?: { name: string; email: string };
}

export function githubPush(url: string, secret: string, push: GithubPush): Promise<Response> {
  const author = push.author ?? { name: 'Test', email: 'test@example.com' };
  const body = JSON.stringify({
    ref: 'refs/heads/main',
    before: push.before ?? '0'.repeat(40),
    after: push.sha,
    created: false,
    deleted: false,
    forced: false,
    repository: { id: 1, name: 'hello', full_name: 'acme/hello', clone_url: 'https://github.com/acme/hello.git', html_url: 'https://github.com/acme/hello' },
    head_commit: { id: push.sha, message: push.message, timestamp: new Date().toISOString(), author },
    commits: [{ id: push.sha, message: push.message, author }],
    pusher: { name: 'mallory', email: 'mallory@example.com' },
    sender: { login: 'mallory', id: 2 },
  });
  return fetch(`${url}/webhook/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    },
    body,
  });
}
