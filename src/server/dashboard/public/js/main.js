import { forgetToken, probeAccess, storedToken, storeToken } from './access.js';
import { ApiError, describeError, graphql, SUBSCRIPTIONS } from './api.js';
import { byId, fill, h, refreshTimes } from './dom.js';
import { statusWords } from './format.js';
import { backoffMs, createLive } from './live.js';
import { createActions } from './views/actions.js';
import { mountDeployment } from './views/deployment.js';
import { mountOverview } from './views/overview.js';

/*
 * The dashboard's wiring: who we are (access), the live connection, the router (#/,
 * #/deployments/:id, and #/environments/:fraise/:environment: the overview with that environment
 * in view, where notifications of its health link) and the view on screen. Views get a context
 * with everything they need and return { refresh, onDeployment, dispose }.
 */

const CONNECTION_TEXT = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
  refused: 'Live updates refused',
  idle: 'Not connected',
};

const state = {
  /** @type {import('./access.js').Access | null} */
  access: null,
  live: null,
  liveUnsubscribe: [],
  view: null,
  probeRetries: 0,
  probeTimer: 0,
  lastRefusal: 0,
};

function setConnection(kind, detail) {
  const element = byId('connection');
  element.dataset.state = kind;
  element.textContent = detail ? `${CONNECTION_TEXT[kind]} (${detail})` : CONNECTION_TEXT[kind];
}

function announce(text) {
  // Cleared first so the same sentence twice is read twice.
  const announcer = byId('announcer');
  announcer.textContent = '';
  requestAnimationFrame(() => (announcer.textContent = text));
}

function showAlert(text) {
  const alerts = byId('alerts');
  if (!text) return fill(alerts);
  fill(alerts, h('p', {}, text, ' ', h('button', { type: 'button', class: 'link-button', on: { click: () => fill(alerts) } }, 'Dismiss')));
}

function readable() {
  return ['open', 'read', 'deploy'].includes(state.access?.mode);
}

function renderAccess() {
  const { mode, message } = state.access;
  const section = byId('access');
  section.dataset.mode = mode;
  byId('access-message').textContent = message;
  const needsToken = mode === 'signed-out' || mode === 'refused';
  byId('token-form').hidden = !needsToken;
  byId('token-change').hidden = !(mode === 'read' || mode === 'deploy');
  byId('token-forget').hidden = !(mode === 'read' || mode === 'deploy');
}

async function establishAccess() {
  clearTimeout(state.probeTimer);
  try {
    state.access = await probeAccess(storedToken());
    state.probeRetries = 0;
  } catch (error) {
    // The server is down or restarting: say so, and ask again a little later.
    stopLive();
    setConnection('offline');
    byId('access-message').textContent = describeError(error);
    state.probeTimer = setTimeout(establishAccess, backoffMs(state.probeRetries++));
    return;
  }
  if (state.access.mode === 'refused') forgetToken();
  renderAccess();
  startLive();
  route();
}

function stopLive() {
  for (const unsubscribe of state.liveUnsubscribe) unsubscribe();
  state.liveUnsubscribe = [];
  void state.live?.dispose();
  state.live = null;
}

function startLive() {
  stopLive();
  if (!readable()) return setConnection('idle');
  setConnection('connecting');
  const live = createLive({
    token: state.access.token,
    onState: (kind, detail) => {
      setConnection(kind, detail);
      if (kind === 'refused') reprobe();
    },
    onConnected: (reconnected) => {
      // Events sent while there was no subscription are lost: read the lists again. An open
      // deployment's progress subscription is re-sent by the client; its replay fills the gap.
      state.view?.refresh();
      if (reconnected) announce('Reconnected: live updates resumed.');
    },
  });
  state.live = live;
  const onEvent = (kind) => (data) => {
    const deployment = data.deploymentStarted ?? data.deploymentCompleted;
    state.view?.onDeployment(kind, deployment);
    announce(
      kind === 'started'
        ? `Deployment #${deployment.id} of ${deployment.fraise}/${deployment.environment} started.`
        : `Deployment #${deployment.id} of ${deployment.fraise}/${deployment.environment} ended: ${statusWords(deployment.status)}.`,
    );
  };
  const onError = (error) => showAlert(`Live updates stopped: ${describeError(error)}`);
  state.liveUnsubscribe = [
    live.subscribe(SUBSCRIPTIONS.started, {}, { next: onEvent('started'), error: onError }),
    live.subscribe(SUBSCRIPTIONS.completed, {}, { next: onEvent('completed'), error: onError }),
  ];
}

/**
 * The token stopped working (revoked, or the server restarted with other tokens): ask the
 * server again where we stand, which brings the token form back. Not more than twice a minute,
 * so a server that refuses on one path and accepts on another cannot make it loop.
 */
function reprobe() {
  if (Date.now() - state.lastRefusal < 30_000) return;
  state.lastRefusal = Date.now();
  void establishAccess();
}

function context() {
  const token = state.access.token;
  const ctx = {
    canDeploy: state.access.mode === 'open' || state.access.mode === 'deploy',
    canApprove: state.access.canApprove === true,
    openApi: state.access.mode === 'open',
    graphql: async (query, variables) => {
      try {
        return await graphql(query, variables, token);
      } catch (error) {
        if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') reprobe();
        throw error;
      }
    },
    live: state.live,
    announce,
    alert: showAlert,
    describeError,
    navigate: (hash) => {
      if (location.hash === hash) route();
      else location.hash = hash;
    },
  };
  ctx.actions = createActions(ctx, byId('dialog'));
  return ctx;
}

function parseRoute(hash) {
  const match = /^#\/deployments\/(\d+)$/.exec(hash);
  if (match) return { view: 'deployment', id: match[1] };
  const env = /^#\/environments\/([^/]+)\/([^/]+)$/.exec(hash);
  if (env) {
    try {
      return { view: 'overview', spotlight: { fraise: decodeURIComponent(env[1]), environment: decodeURIComponent(env[2]) } };
    } catch {
      // A malformed escape: the plain overview.
    }
  }
  return { view: 'overview' };
}

function route({ focus = false } = {}) {
  state.view?.dispose();
  state.view = null;
  showAlert('');
  const main = byId('main');
  if (!state.access) return;
  if (!readable()) {
    fill(main, h('h1', {}, 'Sign in'), h('p', {}, 'Enter an API token above to see the fraises and their deployments.'));
    byId('token-input').focus();
    return;
  }
  const where = parseRoute(location.hash);
  state.view = where.view === 'deployment' ? mountDeployment(main, context(), where.id) : mountOverview(main, context(), where.spotlight);
  if (focus) main.querySelector('h1')?.focus();
}

function bind() {
  byId('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId('token-input');
    const token = input.value.trim();
    if (!token) return;
    storeToken(token);
    input.value = '';
    byId('access-message').textContent = 'Checking the token…';
    void establishAccess();
  });
  byId('token-change').addEventListener('click', () => {
    byId('token-form').hidden = false;
    byId('token-input').focus();
  });
  byId('token-forget').addEventListener('click', () => {
    forgetToken();
    void establishAccess();
  });
  byId('skip-link').addEventListener('click', (event) => {
    event.preventDefault(); // the hash is the router's
    byId('main').focus();
  });
  window.addEventListener('hashchange', () => route({ focus: true }));
  setInterval(() => refreshTimes(), 15_000);
}

bind();
void establishAccess();
