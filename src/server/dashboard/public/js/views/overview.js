import { QUERIES } from '../api.js';
import { badge, createLoader, errorIn, fill, h, hidden, rerender, timeAgo, version } from '../dom.js';
import { createDeploymentList } from './deployments.js';
import { createWebhookList } from './webhooks.js';

/*
 * The overview: every fraise × environment (status, current version, last deployed, target,
 * what is running), the recent deployments (filterable) and the webhook deliveries. Live:
 * a deployment starting or ending re-reads what it changes (debounced), and so does a
 * reconnection.
 */

export function mountOverview(main, ctx) {
  const gridBox = h('div', { class: 'grid-box' }, h('p', {}, 'Loading…'));
  const deployments = createDeploymentList(ctx);
  const webhooks = createWebhookList(ctx);
  fill(
    main,
    h('h1', { tabindex: '-1' }, 'Overview'),
    h('section', { 'aria-labelledby': 'environments-title', class: 'panel' }, h('h2', { id: 'environments-title' }, 'Environments'), gridBox),
    deployments.element,
    webhooks.element,
  );

  const grid = createLoader(errorIn(gridBox, ctx.describeError));
  let timer = 0;

  function loadGrid() {
    return grid.run(
      () => ctx.graphql(QUERIES.fraises),
      (data) => {
        rerender(gridBox, () => renderGrid(gridBox, data, ctx));
        deployments.setChoices(data.fraises);
      },
    );
  }

  const refresh = () => {
    void loadGrid();
    void deployments.load();
    void webhooks.load();
  };
  refresh();
  // Deliveries that deploy nothing send no event: look again now and then.
  const poll = setInterval(() => void webhooks.load(), 30_000);

  return {
    refresh,
    onDeployment() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 150);
    },
    dispose() {
      grid.dispose();
      clearTimeout(timer);
      clearInterval(poll);
      deployments.dispose();
      webhooks.dispose();
    },
  };
}

function renderGrid(box, { fraises, running, queued }, ctx) {
  if (!fraises.length) return fill(box, h('p', {}, 'No fraise is configured yet: add one to fraises.yaml.'));
  const names = [];
  for (const fraise of fraises) for (const env of fraise.environments) if (!names.includes(env.name)) names.push(env.name);
  const active = new Map();
  for (const d of [...queued, ...running]) active.set(`${d.fraise}\u0000${d.environment}`, d);

  const table = h(
    'table',
    { class: 'grid' },
    h('caption', { class: 'visually-hidden' }, 'Each fraise in each environment: status, current version, last deployment, target'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Fraise'), names.map((name) => h('th', { scope: 'col' }, name)))),
    h(
      'tbody',
      {},
      fraises.map((fraise) =>
        h(
          'tr',
          {},
          h(
            'th',
            { scope: 'row' },
            h('span', { class: 'fraise-name' }, fraise.name),
            ' ',
            h('span', { class: 'fraise-type' }, fraise.type.toLowerCase()),
            fraise.description ? h('span', { class: 'fraise-description' }, fraise.description) : null,
          ),
          names.map((name) => {
            const env = fraise.environments.find((e) => e.name === name);
            if (!env) return h('td', { class: 'empty', dataset: { label: name } }, h('span', { 'aria-hidden': 'true' }, '—'), hidden('not deployed here'));
            return h('td', { dataset: { label: name } }, cell({ ...env, fraise: fraise.name }, active.get(`${fraise.name}\u0000${name}`), ctx));
          }),
        ),
      ),
    ),
  );
  // Wide grids scroll sideways; the buttons in every cell keep it reachable from the keyboard.
  fill(box, h('div', { class: 'table-scroll' }, table));
}

function cell(env, activeDeployment, ctx) {
  const where = `${env.fraise} to ${env.name}`;
  const disabledTitle = ctx.canDeploy ? undefined : 'Read-only: needs a token with the deploy scope';
  return h(
    'div',
    { class: 'cell', dataset: { fraise: env.fraise, environment: env.name } },
    h('p', { class: 'cell-status' }, badge(env.status, 'health')),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Version'),
      h('dd', {}, version(env.currentVersion)),
      h('dt', {}, 'Deployed'),
      h('dd', {}, timeAgo(env.lastDeployedAt)),
      h('dt', {}, 'Target'),
      h('dd', {}, env.target.provider),
      env.branch ? [h('dt', {}, 'Branch'), h('dd', {}, h('code', {}, env.branch))] : null,
    ),
    activeDeployment
      ? h('p', { class: 'cell-activity' }, h('a', { href: `#/deployments/${activeDeployment.id}`, dataset: { focusKey: `active:${activeDeployment.id}` } }, `#${activeDeployment.id}`), ' ', badge(activeDeployment.status))
      : null,
    h(
      'p',
      { class: 'cell-actions' },
      h(
        'button',
        { type: 'button', disabled: !ctx.canDeploy, title: disabledTitle, dataset: { focusKey: `deploy:${env.fraise}:${env.name}` }, on: { click: () => ctx.actions.deploy(env) } },
        'Deploy',
        hidden(` ${where}`),
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          disabled: !ctx.canDeploy,
          title: disabledTitle,
          dataset: { focusKey: `rollback:${env.fraise}:${env.name}` },
          on: { click: () => ctx.actions.rollback(env) },
        },
        'Roll back',
        hidden(` ${env.fraise} on ${env.name}`),
      ),
    ),
  );
}
