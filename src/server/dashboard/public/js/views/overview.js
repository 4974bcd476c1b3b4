import { QUERIES, SUBSCRIPTIONS } from '../api.js';
import { badge, createLoader, errorIn, fill, h, hidden, rerender, timeAgo, version } from '../dom.js';
import { attemptToShow, plainText, shortError } from '../format.js';
import { createApprovalList } from './approvals.js';
import { createDeploymentList } from './deployments.js';
import { createLatestList } from './latest.js';
import { createWebhookList } from './webhooks.js';

/*
 * The overview: for a token with the approve scope, the deployments waiting for approval first;
 * the latest deployments (reachable however many fraises there are), every fraise × environment
 * (status, current version, last deployed, the last attempt when it failed, target, what is
 * running, queued or waiting), the recent deployments (filterable) and the webhook deliveries.
 * Live: a deployment starting, waiting or ending re-reads what it changes (debounced), a delivery
 * recorded re-reads the deliveries, a change of an environment's health (the monitor's
 * environmentStatusChanged) re-reads the grid and is announced, and a reconnection re-reads
 * everything. Opened at #/environments/:fraise/:environment (a notification's link), that
 * environment's cell is marked, and scrolled into view once.
 */

export function mountOverview(main, ctx, spotlight) {
  const gridBox = h('div', { class: 'grid-box' }, h('p', {}, 'Loading…'));
  const deployments = createDeploymentList(ctx);
  const latest = createLatestList(ctx, deployments.heading);
  const webhooks = createWebhookList(ctx);
  const approvals = ctx.canApprove ? createApprovalList(ctx) : null;
  fill(
    main,
    h('h1', { tabindex: '-1' }, 'Overview'),
    approvals?.element,
    latest.element,
    h('section', { 'aria-labelledby': 'environments-title', class: 'panel' }, h('h2', { id: 'environments-title' }, 'Environments'), gridBox),
    deployments.element,
    webhooks.element,
  );

  const grid = createLoader(errorIn(gridBox, ctx.describeError));
  let timer = 0;
  let scrolled = false;

  function loadGrid() {
    return grid.run(
      () => ctx.graphql(QUERIES.fraises),
      (data) => {
        rerender(gridBox, () => renderGrid(gridBox, data, ctx));
        deployments.setChoices(data.fraises);
        if (spotlight) {
          const found = [...gridBox.querySelectorAll('.cell')].find((c) => c.dataset.fraise === spotlight.fraise && c.dataset.environment === spotlight.environment);
          found?.closest('td')?.classList.add('spotlight');
          if (!scrolled) found?.scrollIntoView({ block: 'center' });
          scrolled = true;
        }
      },
    );
  }

  const refresh = () => {
    void approvals?.load();
    void latest.load();
    void loadGrid();
    void deployments.load();
    void webhooks.load();
  };
  refresh();
  const stopFollowing = webhooks.follow();
  // A deployment that starts waiting (or whose gates change) is news for the grid and the lists.
  const stopWaiting = ctx.live?.subscribe(SUBSCRIPTIONS.waiting, {}, { next: () => later() });
  let healthTimer = 0;
  const stopHealth = ctx.live?.subscribe(SUBSCRIPTIONS.health, {}, {
    next: ({ environmentStatusChanged: c }) => {
      ctx.announce(`${c.fraise}/${c.environment} is ${c.status.toLowerCase()} (was ${c.previous.toLowerCase()}): ${c.message}`);
      clearTimeout(healthTimer);
      healthTimer = setTimeout(() => void loadGrid(), 100);
    },
  });

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  }

  return {
    refresh,
    onDeployment: later,
    dispose() {
      grid.dispose();
      clearTimeout(timer);
      clearTimeout(healthTimer);
      stopFollowing();
      stopWaiting?.();
      stopHealth?.();
      approvals?.dispose();
      latest.dispose();
      deployments.dispose();
      webhooks.dispose();
    },
  };
}

function renderGrid(box, { fraises, running, paused, queued, waiting }, ctx) {
  if (!fraises.length) return fill(box, h('p', {}, 'No fraise is configured yet: add one to fraises.yaml.'));
  const names = [];
  for (const fraise of fraises) for (const env of fraise.environments) if (!names.includes(env.name)) names.push(env.name);
  const active = new Map();
  for (const d of [...waiting, ...queued, ...running, ...paused]) active.set(`${d.fraise}\u0000${d.environment}`, d);

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
  const attempt = attemptToShow(env);
  return h(
    'div',
    { class: 'cell', dataset: { fraise: env.fraise, environment: env.name } },
    h('p', { class: 'cell-status' }, badge(env.status, 'health')),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Version'),
      h('dd', {}, version(env.currentVersion)),
      // "Deployed never" says less than the failed attempt shown below it.
      env.lastDeployedAt || !attempt ? [h('dt', {}, 'Deployed'), h('dd', {}, timeAgo(env.lastDeployedAt))] : null,
      attempt ? [h('dt', {}, 'Last attempt'), h('dd', { class: 'last-attempt' }, lastAttempt(attempt))] : null,
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
      // Only where a rollback has somewhere to go: a successful version other than the one running.
      env.rollbackVersion
        ? h(
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
          )
        : null,
    ),
  );
}

/** "FAILED 5 min ago #12 / health check failed": what the environment last tried, and why it did not stick. */
function lastAttempt(attempt) {
  const error = shortError(attempt.errorMessage);
  const whole = plainText(attempt.errorMessage).trim();
  return [
    badge(attempt.status),
    ' ',
    timeAgo(attempt.completedAt ?? attempt.startedAt),
    ' ',
    h('a', { href: `#/deployments/${attempt.id}`, dataset: { focusKey: `attempt:${attempt.id}` } }, `#${attempt.id}`),
    error ? h('span', { class: 'attempt-error', title: error === whole ? undefined : whole }, error) : null,
  ];
}
