import { QUERIES } from '../api.js';
import { badge, createLoader, errorIn, fill, h, hidden, rerender, timeAgo, version } from '../dom.js';

/*
 * The latest deployments, at the top of the overview: however many fraises the grid lists, what
 * just happened is the first thing on the page. One line each; the full, filterable list is
 * further down, and the button below leads there.
 */

const SHOWN = 5;

/** `fullList`: the heading of the full list of deployments, focused by "All recent deployments". */
export function createLatestList(ctx, fullList) {
  const body = h('div', { class: 'latest-box' }, h('p', {}, 'Loading…'));
  const toFullList = h(
    'button',
    {
      type: 'button',
      class: 'link-button',
      on: {
        click: () => {
          fullList.scrollIntoView({ block: 'start' });
          fullList.focus({ preventScroll: true });
        },
      },
    },
    'All recent deployments',
    hidden(', with filters'),
  );
  const element = h(
    'section',
    { 'aria-labelledby': 'latest-title', class: 'panel latest' },
    h('div', { class: 'panel-head' }, h('h2', { id: 'latest-title' }, 'Latest deployments'), toFullList),
    body,
  );
  const loader = createLoader(errorIn(body, ctx.describeError));

  function load() {
    return loader.run(
      () => ctx.graphql(QUERIES.latest, { limit: SHOWN }),
      ({ deployments }) => rerender(body, () => render(deployments)),
    );
  }

  function render(deployments) {
    if (!deployments.length) return fill(body, h('p', {}, 'No deployment yet.'));
    fill(body, h('ol', { class: 'latest-list', 'aria-label': 'Newest first' }, deployments.map(item)));
  }

  function item(d) {
    return h(
      'li',
      { dataset: { id: d.id } },
      h('a', { href: `#/deployments/${d.id}`, dataset: { focusKey: `latest:${d.id}` } }, `#${d.id}`),
      ' ',
      h('span', { class: 'latest-where' }, `${d.fraise}${d.job ? ` (${d.job})` : ''} → ${d.environment}`),
      ' ',
      badge(d.status),
      ' ',
      version(d.gitCommit ?? d.newVersion),
      ' ',
      timeAgo(d.startedAt ?? d.requestedAt),
    );
  }

  return { element, load, dispose: loader.dispose };
}
