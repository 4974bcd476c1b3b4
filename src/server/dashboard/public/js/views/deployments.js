import { QUERIES } from '../api.js';
import { badge, createLoader, errorIn, fill, h, rerender, timeAgo, version } from '../dom.js';
import { DEPLOYMENT_STATUSES, deploymentDuration } from '../format.js';

/* Recent deployments, newest first, filtered by fraise, environment and status. */

const PAGE = 25;
const MAX = 100;

export function createDeploymentList(ctx) {
  const select = (id, label) => {
    const element = h('select', { id, name: id }, h('option', { value: '' }, 'All'));
    return { element, field: h('p', { class: 'field' }, h('label', { for: id }, label), element) };
  };
  const fraise = select('filter-fraise', 'Fraise');
  const environment = select('filter-environment', 'Environment');
  const status = select('filter-status', 'Status');
  for (const value of DEPLOYMENT_STATUSES) status.element.append(h('option', { value }, value));

  const summary = h('p', { class: 'summary', role: 'status' });
  const body = h('div', { class: 'list-box' }, h('p', {}, 'Loading…'));
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show more');
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter deployments' }, fraise.field, environment.field, status.field);
  // Focusable, so that the latest deployments at the top of the page can lead here.
  const heading = h('h2', { id: 'deployments-title', tabindex: '-1' }, 'Recent deployments');
  const element = h(
    'section',
    { 'aria-labelledby': 'deployments-title', class: 'panel', id: 'deployments' },
    heading,
    form,
    summary,
    body,
    more,
  );

  let limit = PAGE;
  const loader = createLoader(errorIn(body, ctx.describeError));

  function load() {
    const variables = {
      fraise: fraise.element.value || null,
      environment: environment.element.value || null,
      status: status.element.value || null,
      limit,
    };
    return loader.run(
      () => ctx.graphql(QUERIES.deployments, variables),
      ({ deployments }) => {
        rerender(body, () => render(deployments));
        const filtered = variables.fraise || variables.environment || variables.status;
        summary.textContent = `${deployments.length === limit ? `The latest ${limit}` : deployments.length} deployment${deployments.length === 1 ? '' : 's'}${filtered ? ' matching the filters' : ''}.`;
        more.hidden = deployments.length < limit || limit >= MAX;
      },
    );
  }

  function render(deployments) {
    if (!deployments.length) return fill(body, h('p', {}, 'No deployment yet.'));
    fill(
      body,
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'list stack' },
          h('caption', { class: 'visually-hidden' }, 'Recent deployments, newest first'),
          h(
            'thead',
            {},
            h('tr', {}, ['Deployment', 'Fraise', 'Environment', 'Status', 'Commit', 'Trigger', 'Started', 'Duration'].map((title) => h('th', { scope: 'col' }, title))),
          ),
          h('tbody', {}, deployments.map(row)),
        ),
      ),
    );
  }

  function row(d) {
    return h(
      'tr',
      { dataset: { id: d.id } },
      h('td', { dataset: { label: 'Deployment' } }, h('a', { href: `#/deployments/${d.id}`, dataset: { focusKey: `deployment:${d.id}` } }, `#${d.id}`)),
      h('td', { dataset: { label: 'Fraise' } }, d.fraise, d.job ? ` (${d.job})` : null),
      h('td', { dataset: { label: 'Environment' } }, d.environment),
      h('td', { dataset: { label: 'Status' } }, badge(d.status)),
      h('td', { dataset: { label: 'Commit' } }, version(d.gitCommit ?? d.newVersion), d.gitBranch ? [' ', h('span', { class: 'branch' }, d.gitBranch)] : null),
      h('td', { dataset: { label: 'Trigger' } }, h('span', {}, d.triggeredBy.toLowerCase()), d.requestedBy ? h('span', { class: 'muted requested-by' }, d.requestedBy) : null),
      h('td', { dataset: { label: 'Started' } }, timeAgo(d.startedAt)),
      h('td', { dataset: { label: 'Duration' } }, deploymentDuration(d)),
    );
  }

  form.addEventListener('change', () => {
    limit = PAGE;
    void load();
  });
  form.addEventListener('submit', (event) => event.preventDefault());
  more.addEventListener('click', () => {
    limit = Math.min(MAX, limit + PAGE);
    void load();
  });

  return {
    element,
    heading,
    load,
    /** Fills the fraise and environment filters from the configuration (keeps the choices made). */
    setChoices(fraises) {
      const environments = [];
      for (const f of fraises) for (const e of f.environments) if (!environments.includes(e.name)) environments.push(e.name);
      setOptions(fraise.element, fraises.map((f) => f.name));
      setOptions(environment.element, environments);
    },
    dispose: loader.dispose,
  };
}

function setOptions(select, values) {
  const current = select.value;
  const existing = [...select.options].slice(1).map((o) => o.value);
  if (existing.length === values.length && existing.every((v, i) => v === values[i])) return;
  fill(select, h('option', { value: '' }, 'All'), values.map((value) => h('option', { value }, value)));
  select.value = values.includes(current) ? current : '';
}
