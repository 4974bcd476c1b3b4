import { QUERIES } from '../api.js';
import { fill, h, timeAgo, version } from '../dom.js';
import { shortVersion } from '../format.js';

/*
 * Deploy (a dry run first: the plan is shown before anything is queued), roll back (to a
 * version from the environment's successful history), cancel, promote, approve (an optional
 * comment) and reject (a reason, required), each in a modal <dialog>: focus moves into it,
 * Escape closes it, focus returns to the button that opened it. Pause and resume act at once
 * (each undoes the other).
 */

export function createActions(ctx, dialog) {
  let opener = null;
  // A property, not a listener: each view makes its actions anew, and only the latest may answer.
  dialog.onclose = () => {
    fill(dialog);
    // A live update may have re-rendered the button that opened the dialog: find its successor.
    const key = opener?.dataset.focusKey;
    const target = opener?.isConnected ? opener : key ? document.querySelector(`[data-focus-key="${CSS.escape(key)}"]`) : null;
    target?.focus();
    opener = null;
  };

  function open(title, ...content) {
    opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    fill(dialog, h('h2', { id: 'dialog-title' }, title), ...content);
    dialog.showModal();
    (dialog.querySelector('[autofocus]') ?? dialog.querySelector('input, button'))?.focus();
  }
  const close = () => dialog.open && dialog.close();
  const closeButton = (label = 'Close') => h('button', { type: 'button', class: 'secondary', on: { click: close } }, label);
  const errorBox = () => h('div', { class: 'dialog-error', role: 'alert' });
  // Approving is a matter of the approve scope and the rule's approvers, not of the deploy scope.
  const decisionError = (failure) => (failure?.code === 'FORBIDDEN' ? `Not allowed: ${failure.message}.` : ctx.describeError(failure));

  /** Approve or reject: a text (the comment, or the reason when `required`), then the mutation. */
  function decide(decision, deployment, onDone) {
    const approving = decision === 'approve';
    const where = `#${deployment.id} of ${deployment.fraise}/${deployment.environment}`;
    const field = approving ? 'approve-comment' : 'reject-reason';
    const text = h('textarea', { id: field, name: approving ? 'comment' : 'reason', rows: '3', maxlength: '2000', 'aria-required': approving ? undefined : 'true', autofocus: true, 'aria-describedby': `${field}-hint` });
    const error = errorBox();
    const confirm = h('button', { type: 'submit', class: approving ? undefined : 'danger' }, approving ? 'Approve' : 'Reject');
    const form = h(
      'form',
      { class: 'dialog-form' },
      h('p', {}, approving ? `Approve deployment ${where}?` : `Reject deployment ${where}?`),
      h('label', { for: field }, approving ? 'Comment (optional)' : 'Reason (required)'),
      text,
      h(
        'p',
        { class: 'hint', id: `${field}-hint` },
        approving
          ? 'Recorded with your approval in its history. It starts once enough approvers approved and its other gates are open.'
          : 'Recorded in its history and shown as its error: the deployment ends cancelled.',
      ),
      error,
      h('div', { class: 'dialog-actions' }, confirm, closeButton('Not now')),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const value = text.value.trim();
      if (!approving && !value) {
        fill(error, 'Say why: a rejection needs a reason.');
        text.focus();
        return;
      }
      void run(confirm, form, async () => {
        fill(error);
        try {
          const data = await ctx.graphql(QUERIES[decision], approving ? { id: deployment.id, comment: value || null } : { id: deployment.id, reason: value });
          const updated = data[`${decision}Deployment`];
          close();
          ctx.announce(approving ? `Deployment ${where} approved.` : `Deployment ${where} rejected: it ends cancelled.`);
          onDone?.(updated);
        } catch (failure) {
          fill(error, decisionError(failure));
          confirm.disabled = false;
        }
      });
    });
    open(approving ? `Approve deployment #${deployment.id}` : `Reject deployment #${deployment.id}`, form);
  }

  async function run(button, form, work) {
    button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      return await work();
    } finally {
      form.removeAttribute('aria-busy');
    }
  }

  return {
    /** env: { fraise, name, branch } */
    deploy(env) {
      const target = { fraise: env.fraise, environment: env.name };
      const commit = h('input', { id: 'deploy-commit', name: 'commit', type: 'text', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'deploy-commit-hint' });
      const force = h('input', { id: 'deploy-force', name: 'force', type: 'checkbox' });
      const preview = h('div', { class: 'preview', 'aria-live': 'polite' });
      const error = errorBox();
      const previewButton = h('button', { type: 'button', class: 'secondary' }, 'Preview plan');
      const confirm = h('button', { type: 'submit', disabled: true }, 'Deploy');
      const form = h(
        'form',
        { class: 'dialog-form' },
        h('p', {}, 'A dry run shows the plan first; nothing is queued until you confirm.'),
        h('label', { for: 'deploy-commit' }, 'Commit (optional)'),
        commit,
        h('p', { class: 'hint', id: 'deploy-commit-hint' }, env.branch ? `Empty: the head of branch ${env.branch}.` : 'Empty: the head of the environment\u2019s branch.'),
        h('p', { class: 'checkbox' }, force, ' ', h('label', { for: 'deploy-force' }, 'Force: redeploy a commit that is already deployed')),
        preview,
        error,
        h('div', { class: 'dialog-actions' }, previewButton, confirm, closeButton()),
      );
      const variables = () => ({ ...target, commit: commit.value.trim() || null, force: force.checked });

      const showPreview = () =>
        run(previewButton, form, async () => {
          confirm.disabled = true;
          fill(error);
          fill(preview, h('p', {}, 'Asking the server for the plan…'));
          try {
            const { deploy } = await ctx.graphql(QUERIES.deploy, { ...variables(), dryRun: true });
            fill(
              preview,
              h('h3', {}, 'Plan (dry run)'),
              h('p', { class: deploy.success ? 'plan-message' : 'plan-message refused' }, deploy.message ?? ''),
              deploy.plan.length ? h('ol', { class: 'plan', 'aria-label': 'Steps that will run' }, deploy.plan.map((step) => h('li', {}, step))) : null,
            );
            confirm.disabled = !deploy.success;
          } catch (failure) {
            fill(preview);
            fill(error, ctx.describeError(failure));
          } finally {
            previewButton.disabled = false;
          }
        });

      // Changed inputs make the preview stale: ask again before deploying.
      const stale = () => {
        if (confirm.disabled) return;
        confirm.disabled = true;
        fill(preview, h('p', {}, 'The inputs changed: preview the plan again.'));
      };
      commit.addEventListener('input', stale);
      force.addEventListener('change', stale);
      previewButton.addEventListener('click', () => void showPreview());
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        if (confirm.disabled) return;
        void run(confirm, form, async () => {
          fill(error);
          try {
            const { deploy } = await ctx.graphql(QUERIES.deploy, { ...variables(), dryRun: false });
            if (!deploy.success || !deploy.deployment) {
              fill(error, deploy.message ?? 'The server refused the deployment.');
              return;
            }
            close();
            ctx.announce(`Deployment #${deploy.deployment.id} of ${target.fraise}/${target.environment} queued.`);
            ctx.navigate(`#/deployments/${deploy.deployment.id}`);
          } catch (failure) {
            fill(error, ctx.describeError(failure));
          }
        });
      });
      open(`Deploy ${env.fraise} to ${env.name}`, form);
      void showPreview();
    },

    /** env: { fraise, name, currentVersion } */
    rollback(env) {
      const choices = h('div', { class: 'choices', 'aria-live': 'polite' }, h('p', {}, 'Loading the successful deployments…'));
      const error = errorBox();
      const confirm = h('button', { type: 'submit', disabled: true }, 'Roll back');
      const form = h(
        'form',
        { class: 'dialog-form' },
        h('p', {}, 'Current version: ', version(env.currentVersion)),
        choices,
        h('p', { class: 'hint' }, 'A rollback redeploys a release kept from an earlier deployment, without rebuilding it.'),
        error,
        h('div', { class: 'dialog-actions' }, confirm, closeButton()),
      );
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        const picked = form.querySelector('input[name="version"]:checked');
        if (!picked) return;
        void run(confirm, form, async () => {
          fill(error);
          try {
            const { rollback } = await ctx.graphql(QUERIES.rollback, { fraise: env.fraise, environment: env.name, toVersion: picked.value });
            if (!rollback.success || !rollback.deployment) {
              fill(error, rollback.message ?? 'The server refused the rollback.');
              confirm.disabled = false;
              return;
            }
            close();
            ctx.announce(`Rollback #${rollback.deployment.id} of ${env.fraise}/${env.name} to ${shortVersion(picked.value)} queued.`);
            ctx.navigate(`#/deployments/${rollback.deployment.id}`);
          } catch (failure) {
            fill(error, ctx.describeError(failure));
            confirm.disabled = false;
          }
        });
      });
      open(`Roll back ${env.fraise} on ${env.name}`, form);

      void (async () => {
        try {
          const { deployments } = await ctx.graphql(QUERIES.history, { fraise: env.fraise, environment: env.name });
          const seen = new Set([env.currentVersion]);
          const versions = deployments.filter((d) => d.newVersion && !seen.has(d.newVersion) && seen.add(d.newVersion));
          if (!versions.length) {
            fill(choices, h('p', {}, 'No other successfully deployed version is recorded for this environment: there is nothing to roll back to.'));
            return;
          }
          fill(
            choices,
            h(
              'fieldset',
              {},
              h('legend', {}, 'Version to roll back to'),
              versions.map((d, index) => {
                const id = `rollback-version-${d.id}`;
                return h(
                  'p',
                  { class: 'choice' },
                  h('input', { type: 'radio', name: 'version', id, value: d.newVersion, checked: index === 0 }),
                  ' ',
                  h('label', { for: id }, version(d.newVersion), ' deployed ', timeAgo(d.completedAt ?? d.startedAt), ` (#${d.id}${d.gitBranch ? `, ${d.gitBranch}` : ''})`),
                );
              }),
            ),
          );
          confirm.disabled = false;
          choices.querySelector('input')?.focus();
        } catch (failure) {
          fill(choices);
          fill(error, ctx.describeError(failure));
        }
      })();
    },

    /** deployment: { id, fraise, environment }; onDone(updated deployment) */
    cancel(deployment, onDone) {
      const error = errorBox();
      const confirm = h('button', { type: 'submit', class: 'danger', autofocus: true }, 'Cancel deployment');
      const form = h(
        'form',
        { class: 'dialog-form' },
        h('p', {}, `Cancel deployment #${deployment.id} of ${deployment.fraise}/${deployment.environment}?`),
        h('p', { class: 'hint' }, 'A queued deployment ends at once; a running one stops at its next step boundary and its running command is terminated.'),
        error,
        h('div', { class: 'dialog-actions' }, confirm, closeButton('Keep it')),
      );
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        void run(confirm, form, async () => {
          fill(error);
          try {
            const { cancelDeployment } = await ctx.graphql(QUERIES.cancel, { id: deployment.id });
            close();
            ctx.announce(`Deployment #${deployment.id}: cancellation requested.`);
            onDone?.(cancelDeployment);
          } catch (failure) {
            fill(error, ctx.describeError(failure));
            confirm.disabled = false;
          }
        });
      });
      open(`Cancel deployment #${deployment.id}`, form);
    },

    /** action: 'pause' | 'resume'; deployment: { id }; onDone(updated deployment) */
    async steer(action, deployment, onDone) {
      try {
        const data = await ctx.graphql(QUERIES[action], { id: deployment.id });
        const updated = data[`${action}Deployment`];
        ctx.announce(
          action === 'pause'
            ? updated.status === 'PAUSED'
              ? `Deployment #${deployment.id} is paused.`
              : `Deployment #${deployment.id}: pause requested; it pauses at its next step.`
            : `Deployment #${deployment.id}: resume requested.`,
        );
        onDone?.(updated);
      } catch (failure) {
        ctx.alert(ctx.describeError(failure));
      }
    },

    /** deployment: { id, fraise, environment }; onDone(updated deployment) */
    approve: (deployment, onDone) => decide('approve', deployment, onDone),

    /** deployment: { id, fraise, environment }; onDone(updated deployment) */
    reject: (deployment, onDone) => decide('reject', deployment, onDone),

    /** deployment: { id, fraise, environment }; onDone(updated deployment) */
    promote(deployment, onDone) {
      const error = errorBox();
      const confirm = h('button', { type: 'submit', autofocus: true }, 'Promote');
      const form = h(
        'form',
        { class: 'dialog-form' },
        h('p', {}, `Promote deployment #${deployment.id} of ${deployment.fraise}/${deployment.environment}?`),
        h('p', { class: 'hint' }, 'Its strategy skips its remaining steps and pauses (a canary takes all the traffic); a paused deployment goes on.'),
        error,
        h('div', { class: 'dialog-actions' }, confirm, closeButton('Not now')),
      );
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        void run(confirm, form, async () => {
          fill(error);
          try {
            const { promoteDeployment } = await ctx.graphql(QUERIES.promote, { id: deployment.id });
            close();
            ctx.announce(`Deployment #${deployment.id} promoted.`);
            onDone?.(promoteDeployment);
          } catch (failure) {
            fill(error, ctx.describeError(failure));
            confirm.disabled = false;
          }
        });
      });
      open(`Promote deployment #${deployment.id}`, form);
    },
  };
}
