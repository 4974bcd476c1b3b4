import { QUERIES } from '../api.js';
import { createLoader, errorIn, fill, h, hidden, rerender, timeAgo, version } from '../dom.js';
import { awaitsApproval, gateKindWords, plainText } from '../format.js';

/*
 * "Waiting for approval", at the top of the overview for a token with the approve scope: every
 * deployment WAITING on its environment's approvals gate, with what it still waits for (the
 * approvals counted so far, a window, a freeze...), and Approve (an optional comment) and Reject
 * (a reason) buttons. Whether this token is one of the rule's approvers is the server's check:
 * its refusal shows in the dialog. Live: the overview re-reads it when a deployment starts waiting
 * or its gates change (deploymentWaiting), starts (an approved one leaves the list) or ends (a
 * rejected one). Behind an open API (no tokens: anyone may approve) the panel shows only while
 * something waits, so that a setup without protection rules does not carry an empty panel.
 */

export function createApprovalList(ctx) {
  const body = h('div', { class: 'approvals-box' }, h('p', {}, 'Loading…'));
  const element = h('section', { 'aria-labelledby': 'approvals-title', class: 'panel approvals', hidden: ctx.openApi }, h('h2', { id: 'approvals-title' }, 'Waiting for approval'), body);
  const loader = createLoader(errorIn(body, ctx.describeError));
  /** The ids listed, to announce the ones that join (null: nothing shown yet, nothing to announce). */
  let listed = null;

  function load() {
    return loader.run(
      () => ctx.graphql(QUERIES.waiting),
      ({ deployments }) => rerender(body, () => render(deployments.filter(awaitsApproval))),
    );
  }

  function render(deployments) {
    const joined = listed ? deployments.filter((d) => !listed.has(d.id)) : [];
    listed = new Set(deployments.map((d) => d.id));
    for (const d of joined) ctx.announce(`Deployment #${d.id} of ${d.fraise}/${d.environment} waits for approval.`);
    element.hidden = ctx.openApi && !deployments.length;
    if (!deployments.length) return fill(body, h('p', { class: 'muted' }, 'Nothing is waiting for approval.'));
    fill(body, h('ul', { class: 'approval-list' }, deployments.map(item)));
  }

  function item(d) {
    const where = `${d.fraise} → ${d.environment}`;
    const unmet = d.gates.filter((gate) => !gate.satisfied);
    return h(
      'li',
      { dataset: { id: d.id } },
      h(
        'p',
        { class: 'approval-head' },
        h('a', { href: `#/deployments/${d.id}`, dataset: { focusKey: `waiting:${d.id}` } }, `#${d.id}`),
        ' ',
        h('span', { class: 'approval-where' }, where),
        ' ',
        version(d.gitCommit ?? d.newVersion),
        ' ',
        h('span', { class: 'muted' }, 'requested ', d.requestedBy ? `by ${d.requestedBy} ` : '', timeAgo(d.requestedAt)),
      ),
      h(
        'ul',
        { class: 'gate-list', 'aria-label': `What #${d.id} waits for` },
        unmet.map((gate) => h('li', { class: 'gate gate-unmet', dataset: { kind: gate.kind } }, h('span', { class: 'gate-kind' }, gateKindWords(gate.kind)), ': ', plainText(gate.message))),
      ),
      h(
        'p',
        { class: 'approval-actions' },
        h('button', { type: 'button', dataset: { focusKey: `approve:${d.id}` }, on: { click: () => ctx.actions.approve(d, done) } }, 'Approve', hidden(` #${d.id} (${where})`)),
        h('button', { type: 'button', class: 'secondary', dataset: { focusKey: `reject:${d.id}` }, on: { click: () => ctx.actions.reject(d, done) } }, 'Reject', hidden(` #${d.id} (${where})`)),
      ),
    );
  }

  /** After a decision: the list as it is now (the deployment leaves it once its approvals are met, or it ended). */
  const done = () => void load();

  return { element, load, dispose: loader.dispose };
}
