import { QUERIES, SUBSCRIPTIONS } from '../api.js';
import { badge, createLoader, errorIn, fill, h, rerender, timeAgo, version } from '../dom.js';
import { firstLine, plainText } from '../format.js';

/*
 * Recent webhook deliveries: who sent what, and what Fraisier made of it (accepted, ignored,
 * refused, failed, and why). Commit messages, branches and authors are whatever the pusher
 * wrote: they are shown as text, escapes dropped.
 */

export function createWebhookList(ctx) {
  const body = h('div', { class: 'list-box' }, h('p', {}, 'Loading…'));
  const refreshButton = h('button', { type: 'button', class: 'secondary' }, 'Refresh', h('span', { class: 'visually-hidden' }, ' webhook deliveries'));
  const element = h(
    'section',
    { 'aria-labelledby': 'webhooks-title', class: 'panel' },
    h('div', { class: 'panel-head' }, h('h2', { id: 'webhooks-title' }, 'Webhook deliveries'), refreshButton),
    body,
  );
  const loader = createLoader(errorIn(body, ctx.describeError));

  function load() {
    return loader.run(
      () => ctx.graphql(QUERIES.webhooks, { limit: 20 }),
      ({ webhookEvents }) => rerender(body, () => render(webhookEvents)),
    );
  }

  function render(events) {
    if (!events.length) return fill(body, h('p', {}, 'No delivery received yet. Point your Git provider at POST /webhook.'));
    fill(
      body,
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'list stack' },
          h('caption', { class: 'visually-hidden' }, 'Recent webhook deliveries, newest first'),
          h('thead', {}, h('tr', {}, ['Received', 'Event', 'Repository', 'Ref', 'Commit', 'Outcome', 'Deployment'].map((title) => h('th', { scope: 'col' }, title)))),
          h('tbody', {}, events.map(row)),
        ),
      ),
    );
  }

  function row(e) {
    const message = firstLine(e.commitMessage);
    const author = plainText(e.commitAuthor ?? e.sender ?? '');
    return h(
      'tr',
      { dataset: { id: e.id } },
      h('td', { dataset: { label: 'Received' } }, timeAgo(e.receivedAt)),
      h('td', { dataset: { label: 'Event' } }, e.providerName, ' ', h('span', { class: 'muted' }, e.eventType)),
      h('td', { dataset: { label: 'Repository' } }, plainText(e.repository ?? '—')),
      h('td', { dataset: { label: 'Ref' } }, e.tag ? `tag ${plainText(e.tag)}` : e.branch ? h('span', { class: 'branch' }, plainText(e.branch)) : '—'),
      h(
        'td',
        { dataset: { label: 'Commit' }, class: 'commit' },
        e.commitSha ? version(e.commitSha) : null,
        message ? h('span', { class: 'commit-message', title: plainText(e.commitMessage) }, message) : null,
        author ? h('span', { class: 'muted commit-author' }, author) : null,
      ),
      h('td', { dataset: { label: 'Outcome' } }, badge(e.outcome, 'outcome'), e.reason ? h('span', { class: 'reason' }, plainText(e.reason)) : null),
      h(
        'td',
        { dataset: { label: 'Deployment' } },
        e.deployment
          ? [h('a', { href: `#/deployments/${e.deployment.id}`, dataset: { focusKey: `webhook-deployment:${e.id}` } }, `#${e.deployment.id}`), ' ', badge(e.deployment.status)]
          : '—',
      ),
    );
  }

  /**
   * Shows each delivery as it is recorded: the subscription says one arrived, and the list is
   * read again (once for a burst). Should the server refuse the subscription, the list is
   * read every 30 s instead. Returns what stops it.
   */
  function follow() {
    let timer = 0;
    let poll = 0;
    const unsubscribe = ctx.live?.subscribe(SUBSCRIPTIONS.webhook, {}, {
      next: () => {
        clearTimeout(timer);
        timer = setTimeout(() => void load(), 100);
      },
      error: () => {
        if (!poll) poll = setInterval(() => void load(), 30_000);
      },
    });
    return () => {
      unsubscribe?.();
      clearTimeout(timer);
      clearInterval(poll);
    };
  }

  refreshButton.addEventListener('click', () => void load());
  return {
    element,
    load,
    follow,
    dispose: loader.dispose,
  };
}
