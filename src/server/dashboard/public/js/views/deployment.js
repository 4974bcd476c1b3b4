import { QUERIES, SUBSCRIPTIONS } from '../api.js';
import { badge, createLoader, fill, h, timeAgo, version } from '../dom.js';
import { awaitsApproval, deploymentDuration, duration, exactTime, FINAL_STATUSES, gateKindWords, plainText, shortVersion, statusWords } from '../format.js';

/*
 * One deployment: what it is, its status and progress bar, its gates when its environment has
 * protection rules (each gate met or not, why, and every approval or rejection with who, when and
 * their comment), where its traffic goes (blue-green,
 * canary: each slot's version and share, from the latest event that moved it), and its steps as
 * a timeline with durations, messages and command output. The steps come from the deploymentProgress
 * subscription, which first replays what was recorded and then streams live events: opening
 * a deployment halfway shows everything. After a reconnection the client subscribes again and
 * the replay comes again; events are kept by sequence number, so nothing shows twice.
 */

/** Steps that end a deployment: they close the timeline. */
const ENDINGS = { done: 'success', rolled_back: 'rolled-back', failed: 'failed', cancelled: 'cancelled' };

/** Events of an operator's or a strategy's control, or of its gates: the deployment's status, gates or buttons change with them. */
const CONTROL_STEPS = new Set(['paused', 'resumed', 'gate']);
/** Lines a step gets when an operator asks something of the deployment while it runs. */
const CONTROL_LINES = /^(Pause requested by|Paused by|Promoted by) /;

export function mountDeployment(main, ctx, id) {
  const statusLine = h('p', { class: 'status-line', role: 'status' }, 'Loading…');
  const progressValue = h('span', { class: 'progress-value' }, '0%');
  const progress = h('progress', { id: 'deployment-progress', max: '100', value: '0' });
  const facts = h('dl', { class: 'facts deployment-facts' });
  const actions = h('p', { class: 'deployment-actions' });
  const streamState = h('p', { class: 'stream-state muted' }, 'Connecting to the live stream…');
  const timeline = h('ol', { class: 'timeline', 'aria-labelledby': 'steps-title' });
  const trafficNote = h('p', { class: 'traffic-note muted' });
  const trafficSplit = h('ul', { class: 'traffic-split', 'aria-labelledby': 'traffic-title' });
  const trafficPanel = h(
    'section',
    { class: 'panel traffic', 'aria-labelledby': 'traffic-title', hidden: true },
    h('h2', { id: 'traffic-title' }, 'Traffic'),
    trafficSplit,
    trafficNote,
  );
  const gatesList = h('ul', { class: 'gate-list gates', 'aria-labelledby': 'gates-title' });
  const gatesNote = h('p', { class: 'gates-note muted' });
  const gatesPanel = h(
    'section',
    { class: 'panel gates-panel', 'aria-labelledby': 'gates-title', hidden: true },
    h('h2', { id: 'gates-title' }, 'Gates'),
    gatesList,
    gatesNote,
  );
  const heading = h('h1', { tabindex: '-1' }, `Deployment #${id}`);
  fill(
    main,
    h('p', { class: 'back' }, h('a', { href: '#/' }, '← Overview')),
    heading,
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'summary-title' },
      h('h2', { id: 'summary-title', class: 'visually-hidden' }, 'Summary'),
      statusLine,
      h('p', { class: 'progress-line' }, h('label', { for: 'deployment-progress' }, 'Progress'), ' ', progress, ' ', progressValue),
      facts,
      actions,
    ),
    gatesPanel,
    trafficPanel,
    h('section', { class: 'panel', 'aria-labelledby': 'steps-title' }, h('h2', { id: 'steps-title' }, 'Steps'), streamState, timeline),
  );

  /** @type {Map<number, {sequence:number, step:string, progress:number, message:string|null, timestamp:string}>} */
  const events = new Map();
  let deployment = null;
  let streamEnded = false;
  let disposed = false;
  let frame = 0;
  let lastAnnounced = '';
  let trafficShown = 0;
  let gatesShown = '';

  // Loaded on mount, on started/completed events, at the stream's end and after reconnecting:
  // only the newest answer counts.
  const loader = createLoader((error) => ctx.alert(ctx.describeError(error)));

  function loadDeployment() {
    return loader.run(
      () => ctx.graphql(QUERIES.deployment, { id }),
      (data) => {
        if (!data.deployment) {
          fill(statusLine, `No deployment #${id} is recorded (or this token may not see it).`);
          streamState.textContent = '';
          return;
        }
        deployment = data.deployment;
        schedule();
      },
    );
  }

  const unsubscribe = ctx.live.subscribe(SUBSCRIPTIONS.progress, { id }, {
    next: ({ deploymentProgress: event }) => {
      if (events.has(event.sequence)) return; // a replay after reconnecting
      events.set(event.sequence, event);
      // Paused, resumed, promoted: the record says so (status, why, until when).
      if (CONTROL_STEPS.has(event.step) || CONTROL_LINES.test(event.message ?? '')) void loadDeployment();
      schedule();
    },
    error: (error) => {
      streamState.textContent = `The live stream stopped: ${ctx.describeError(error)}`;
    },
    complete: () => {
      streamEnded = true;
      // The stream ends with the deployment: read its final state.
      void loadDeployment();
    },
  });

  // Running durations keep counting.
  const ticker = setInterval(() => {
    if (deployment && !FINAL_STATUSES.has(deployment.status)) schedule();
  }, 1_000);

  function schedule() {
    if (!frame && !disposed) frame = requestAnimationFrame(render);
  }

  function render() {
    frame = 0;
    if (disposed) return;
    const ordered = [...events.values()].sort((a, b) => a.sequence - b.sequence);
    const last = ordered.at(-1);
    const final = deployment && FINAL_STATUSES.has(deployment.status);
    if (deployment) {
      heading.replaceChildren(`Deployment #${deployment.id} `, h('span', { class: 'heading-detail' }, `${deployment.fraise} → ${deployment.environment}`));
      renderFacts(deployment);
      renderGates(deployment);
      renderActions(deployment);
    }
    const percent = deployment?.status === 'SUCCESS' ? 100 : (last?.progress ?? 0);
    progress.value = percent;
    progressValue.textContent = `${percent}%`;
    const sentence = statusSentence(deployment, last);
    if (deployment) {
      // Only a change of status or step is announced (status role), not every log line.
      if (sentence !== lastAnnounced) {
        fill(statusLine, badge(deployment.status), ' ', sentence);
        lastAnnounced = sentence;
      }
    }
    streamState.textContent = streamEnded || final ? (ordered.length ? 'Finished: every recorded step is shown.' : 'No step was recorded.') : 'Live: new steps appear as they run.';
    renderTraffic(ordered);
    renderTimeline(ordered, final);
  }

  /** Where the requests go now: the latest event that moved them (redrawn only when another does). */
  function renderTraffic(ordered) {
    const moved = ordered.findLast((event) => event.traffic?.length);
    if (!moved || moved.sequence === trafficShown) return;
    trafficShown = moved.sequence;
    trafficPanel.hidden = false;
    fill(
      trafficSplit,
      moved.traffic.map((share) =>
        h(
          'li',
          { dataset: { slot: share.slot, weight: String(share.weight) } },
          h('span', { class: 'traffic-slot' }, share.slot),
          h('span', { class: 'traffic-port muted' }, `port ${share.port}`),
          version(share.version),
          h('meter', { min: '0', max: '100', value: String(share.weight), 'aria-label': `${share.slot}: ${share.weight}% of the requests` }),
          h('span', { class: 'traffic-weight' }, `${share.weight}%`),
        ),
      ),
    );
    fill(trafficNote, 'Since ', h('time', { datetime: moved.timestamp, title: exactTime(moved.timestamp) }, new Date(moved.timestamp).toLocaleTimeString()), ': ', plainText(moved.message ?? ''));
  }

  /** Each gate of its environment as last evaluated (redrawn only when they change). */
  function renderGates(d) {
    const key = JSON.stringify([d.gates, d.status, d.waitingUntil]);
    if (key === gatesShown) return;
    gatesShown = key;
    gatesPanel.hidden = !d.gates?.length;
    if (!d.gates?.length) return;
    fill(
      gatesList,
      d.gates.map((gate) =>
        h(
          'li',
          { class: `gate ${gate.satisfied ? 'gate-met' : 'gate-unmet'}`, dataset: { kind: gate.kind, satisfied: String(gate.satisfied) } },
          h(
            'p',
            { class: 'gate-head' },
            h('span', { class: 'gate-mark', 'aria-hidden': 'true' }, gate.satisfied ? '✓' : '✗'),
            ' ',
            h('span', { class: 'gate-kind' }, gateKindWords(gate.kind)),
            ' ',
            h('span', { class: 'gate-state' }, gate.satisfied ? 'met' : 'not met'),
          ),
          h('p', { class: 'gate-message' }, plainText(gate.message)),
          gate.approvals.length
            ? h(
                'ul',
                { class: 'decisions', 'aria-label': 'Decisions' },
                gate.approvals.map((a) =>
                  h(
                    'li',
                    { class: `decision decision-${a.decision.toLowerCase()}`, dataset: { by: a.by } },
                    a.decision === 'REJECT' ? 'Rejected by ' : 'Approved by ',
                    h('strong', {}, a.by),
                    ' ',
                    timeAgo(a.at),
                    a.comment ? [': ', h('span', { class: 'decision-comment' }, plainText(a.comment))] : null,
                  ),
                ),
              )
            : null,
        ),
      ),
    );
    fill(gatesNote, d.status === 'WAITING' && d.waitingUntil ? ['Evaluated again by time alone ', timeAgo(d.waitingUntil), ' (a window opening, a soak or timer ending, the approvals\u2019 time running out).'] : '');
  }

  function statusSentence(d, last) {
    if (!d) return '';
    switch (d.status) {
      case 'PENDING':
        return 'Queued: waiting for its turn.';
      case 'WAITING': {
        const unmet = (d.gates ?? []).filter((gate) => !gate.satisfied);
        return unmet.length ? `Waiting: ${unmet.map((gate) => plainText(gate.message)).join('; ')}.` : 'Waiting: its gates are open, it starts in a moment.';
      }
      case 'IN_PROGRESS':
        return last ? `Running step ${last.step} (${last.progress}%).` : 'Starting.';
      case 'PAUSED':
        return `${plainText(d.pauseMessage ?? 'Paused')}; ${d.pausedUntil ? `goes on at ${new Date(d.pausedUntil).toLocaleTimeString()}` : 'waits until resumed or promoted'}.`;
      case 'SUCCESS':
        return d.newVersion ? `Deployed ${shortVersion(d.newVersion)} successfully.` : 'Deployed successfully.';
      case 'ROLLED_BACK':
        return `Failed and rolled back${d.oldVersion ? ` to ${shortVersion(d.oldVersion)}` : ''}.`;
      default:
        return `${statusWords(d.status)[0].toUpperCase()}${statusWords(d.status).slice(1)}.`;
    }
  }

  function renderFacts(d) {
    const fact = (term, ...value) => [h('dt', {}, term), h('dd', {}, ...value)];
    fill(
      facts,
      fact('Fraise', d.fraise, d.job ? ` (job ${d.job})` : ''),
      fact('Environment', d.environment),
      fact('Target', d.target.provider),
      fact('Commit', version(d.gitCommit), d.gitBranch ? [' on ', h('span', { class: 'branch' }, d.gitBranch)] : ''),
      fact('Version', version(d.oldVersion), ' → ', version(d.newVersion)),
      fact('Trigger', d.triggeredBy.toLowerCase(), d.requestedBy ? ` by ${d.requestedBy}` : ''),
      fact('Requested', timeAgo(d.requestedAt)),
      fact('Started', d.status === 'PENDING' || d.status === 'WAITING' ? 'not yet' : timeAgo(d.startedAt)),
      fact('Completed', d.completedAt ? timeAgo(d.completedAt) : '—'),
      fact('Duration', deploymentDuration(d)),
      d.status === 'PAUSED' ? fact('Pause', plainText(d.pauseMessage ?? ''), d.pausedUntil ? [' (until ', timeAgo(d.pausedUntil), ')'] : ' (until resumed or promoted)') : null,
      d.promoted ? fact('Promoted', 'yes: the remaining steps and pauses are skipped') : null,
      d.errorMessage ? fact('Error', h('span', { class: 'error' }, plainText(d.errorMessage))) : null,
    );
  }

  /** The buttons that apply now: Approve and Reject, Pause or Resume, Promote, Cancel (kept, with their focus, while they still apply). */
  function renderActions(d) {
    const running = d.status === 'IN_PROGRESS' || d.status === 'PAUSED';
    const approval = awaitsApproval(d);
    const wanted = [
      approval ? 'approve' : null,
      approval ? 'reject' : null,
      d.status === 'IN_PROGRESS' ? 'pause' : null,
      d.status === 'PAUSED' ? 'resume' : null,
      running && !d.promoted ? 'promote' : null,
      running || d.status === 'PENDING' || d.status === 'WAITING' ? 'cancel' : null,
    ].filter(Boolean);
    const key = wanted.join(' ');
    if (actions.dataset.actions === key) return;
    actions.dataset.actions = key;
    const updated = (next) => {
      deployment = next;
      schedule();
    };
    const button = (action, label, className, click) =>
      h(
        'button',
        {
          type: 'button',
          class: className,
          disabled: !ctx.canDeploy,
          title: ctx.canDeploy ? undefined : 'Read-only: needs a token with the deploy scope',
          dataset: { focusKey: `${action}:${d.id}` },
          on: { click },
        },
        label,
      );
    const decision = (action, label, className, click) =>
      h(
        'button',
        {
          type: 'button',
          class: className,
          disabled: !ctx.canApprove,
          title: ctx.canApprove ? undefined : 'Needs a token with the approve scope',
          dataset: { focusKey: `${action}:${d.id}` },
          on: { click },
        },
        label,
      );
    const labels = {
      approve: () => decision('approve', 'Approve', undefined, () => ctx.actions.approve(d, updated)),
      reject: () => decision('reject', 'Reject', 'secondary', () => ctx.actions.reject(d, updated)),
      pause: () => button('pause', 'Pause', 'secondary', () => ctx.actions.steer('pause', d, updated)),
      resume: () => button('resume', 'Resume', undefined, () => ctx.actions.steer('resume', d, updated)),
      promote: () => button('promote', 'Promote', 'secondary', () => ctx.actions.promote(d, updated)),
      cancel: () => button('cancel', 'Cancel deployment', 'danger', () => ctx.actions.cancel(d, updated)),
    };
    // A button that stays keeps its focus; one that goes hands it to its neighbour.
    const focused = actions.contains(document.activeElement) ? document.activeElement.dataset.focusKey : undefined;
    fill(actions, wanted.map((action) => labels[action]()));
    const again = focused ? (actions.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`) ?? actions.querySelector('button')) : null;
    again?.focus();
  }

  function renderTimeline(ordered, final) {
    const groups = [];
    for (const event of ordered) {
      const current = groups.at(-1);
      if (current && current.step === event.step) current.events.push(event);
      else groups.push({ step: event.step, events: [event] });
    }
    const now = Date.now();
    fill(
      timeline,
      groups.map((group, index) => {
        const next = groups[index + 1];
        const start = new Date(group.events[0].timestamp).getTime();
        const ending = ENDINGS[group.step];
        let state;
        let end;
        if (ending) state = ending;
        else if (group.step === 'paused' && !next && deployment?.status === 'PAUSED') state = 'paused';
        else if (group.step === 'gate' && !next && deployment?.status === 'WAITING') state = 'waiting';
        else if (next && (next.step === 'rollback' || next.step === 'failed')) state = 'failed';
        else if (next?.step === 'interrupted') state = 'interrupted';
        else if (!next && !final) state = 'running';
        else state = next?.step === 'cancelled' ? 'cancelled' : 'done';
        if (next) end = new Date(next.events[0].timestamp).getTime();
        else if (state === 'running' || state === 'paused' || state === 'waiting') end = now;
        else if (!ending && deployment?.completedAt) end = new Date(deployment.completedAt).getTime();
        const [first, ...rest] = group.events;
        const lastProgress = group.events.at(-1).progress;
        return h(
          'li',
          { class: `step step-${state}`, dataset: { step: group.step, state }, 'aria-current': state === 'running' ? 'step' : undefined },
          h(
            'p',
            { class: 'step-head' },
            h('span', { class: 'step-name' }, group.step),
            ' ',
            h('span', { class: 'step-state' }, stateWords(state)),
            end !== undefined && !ending ? [' ', h('span', { class: 'step-duration' }, duration((end - start) / 1000))] : null,
            ' ',
            h('time', { datetime: first.timestamp, title: exactTime(first.timestamp), class: 'muted' }, new Date(first.timestamp).toLocaleTimeString()),
            state === 'running' ? h('span', { class: 'muted' }, `${lastProgress}%`) : null,
          ),
          first.message ? h('p', { class: 'step-message' }, plainText(first.message)) : null,
          rest.length
            ? h(
                'pre',
                { class: 'log', tabindex: '0', 'aria-label': `Output of ${group.step}` },
                rest.map((event) => plainText(event.message ?? '')).join('\n'),
              )
            : null,
        );
      }),
    );
  }

  void loadDeployment();

  return {
    refresh: () => void loadDeployment(),
    onDeployment(_kind, d) {
      if (d.id === String(id)) void loadDeployment();
    },
    dispose() {
      disposed = true;
      loader.dispose();
      cancelAnimationFrame(frame);
      clearInterval(ticker);
      unsubscribe();
    },
  };
}

function stateWords(state) {
  const words = { running: 'running', paused: 'paused', waiting: 'waiting', done: 'done', failed: 'failed', interrupted: 'interrupted', success: 'succeeded', 'rolled-back': 'rolled back', cancelled: 'cancelled' };
  return words[state] ?? state;
}
