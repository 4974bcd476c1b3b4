/*
 * Queries and mutations over HTTP: JSON POSTs to /graphql (the CSRF guard lets them through),
 * with the token as a Bearer header. Errors become ApiError with the server's extensions.code.
 */

export class ApiError extends Error {
  /** @param {string} message @param {string} code UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, ..., or NETWORK */
  constructor(message, code) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

/** A sentence for a person, saying what went wrong and what to do about it. */
export function describeError(error) {
  if (!(error instanceof ApiError)) return `Unexpected error: ${error?.message ?? error}`;
  switch (error.code) {
    case 'UNAUTHENTICATED':
      return `Not signed in: ${error.message}. Enter a valid API token.`;
    case 'FORBIDDEN':
      return `Not allowed: ${error.message}. Use a token with the deploy scope for this fraise.`;
    case 'NETWORK':
      return `Cannot reach the server (${error.message}). It may be restarting; try again in a moment.`;
    case 'CONFLICT':
      return `Conflict: ${error.message}`;
    case 'NOT_FOUND':
      return `Not found: ${error.message}`;
    case 'BAD_USER_INPUT':
      return `Invalid input: ${error.message}`;
    default:
      return error.message;
  }
}

/**
 * Runs one operation. Resolves with `data`; rejects with ApiError (the first error's message
 * and code) when the answer carries errors or cannot be read.
 */
export async function graphql(query, variables = {}, token = null) {
  const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  } catch (error) {
    throw new ApiError(error?.message ?? 'network error', 'NETWORK');
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`the server answered HTTP ${response.status} without a GraphQL result`, response.status >= 500 ? 'NETWORK' : 'BAD_RESPONSE');
  }
  if (body.errors?.length) {
    const first = body.errors[0];
    throw new ApiError(first.message, first.extensions?.code ?? (response.status === 401 ? 'UNAUTHENTICATED' : 'ERROR'));
  }
  if (!body.data) throw new ApiError(`the server answered HTTP ${response.status} without data`, 'BAD_RESPONSE');
  return body.data;
}

const DEPLOYMENT_FIELDS = `id fraise environment job status gitCommit gitBranch oldVersion newVersion triggeredBy requestedBy
  requestedAt startedAt completedAt durationSeconds errorMessage target { provider } pausedUntil pauseMessage promoted
  gates { kind satisfied message approvals { by decision at comment } } waitingUntil`;

export const QUERIES = {
  /** Probes: a query needs the read scope, a mutation the deploy scope. Neither changes anything. */
  canRead: 'query DashboardCanRead { __typename }',
  canDeploy: 'mutation DashboardCanDeploy { __typename }',
  /** What the token holds, the approve scope among them (the read scope is needed to ask). */
  viewer: 'query DashboardViewer { viewer { name scopes } }',
  fraises: `query DashboardFraises {
    fraises { name type description environments { name branch status currentVersion lastDeployedAt rollbackVersion target { provider }
      lastAttempt { id status newVersion startedAt completedAt errorMessage } } }
    running: deployments(status: IN_PROGRESS, limit: 100) { id fraise environment status }
    paused: deployments(status: PAUSED, limit: 100) { id fraise environment status }
    queued: deployments(status: PENDING, limit: 100) { id fraise environment status }
    waiting: deployments(status: WAITING, limit: 100) { id fraise environment status }
  }`,
  waiting: `query DashboardWaiting { deployments(status: WAITING, limit: 100) { ${DEPLOYMENT_FIELDS} } }`,
  deployments: `query DashboardDeployments($fraise: String, $environment: String, $status: DeploymentStatus, $limit: Int) {
    deployments(fraise: $fraise, environment: $environment, status: $status, limit: $limit) { ${DEPLOYMENT_FIELDS} }
  }`,
  latest: `query DashboardLatest($limit: Int) { deployments(limit: $limit) { id fraise environment job status gitCommit newVersion requestedAt startedAt } }`,
  deployment: `query DashboardDeployment($id: ID!) { deployment(id: $id) { ${DEPLOYMENT_FIELDS} } }`,
  history: `query DashboardHistory($fraise: String!, $environment: String!) {
    deployments(fraise: $fraise, environment: $environment, status: SUCCESS, limit: 100) { id newVersion gitBranch completedAt startedAt }
  }`,
  webhooks: `query DashboardWebhooks($limit: Int) {
    webhookEvents(limit: $limit) { id receivedAt provider providerName eventType deliveryId repository branch tag commitSha
      commitMessage commitAuthor sender outcome reason deployment { id status fraise environment } }
  }`,
  deploy: `mutation DashboardDeploy($fraise: String!, $environment: String!, $dryRun: Boolean, $force: Boolean, $commit: String) {
    deploy(fraise: $fraise, environment: $environment, dryRun: $dryRun, force: $force, commit: $commit) {
      success message dryRun plan deployment { id status }
    }
  }`,
  rollback: `mutation DashboardRollback($fraise: String!, $environment: String!, $toVersion: String) {
    rollback(fraise: $fraise, environment: $environment, toVersion: $toVersion) { success message plan deployment { id status } }
  }`,
  cancel: `mutation DashboardCancel($id: ID!) { cancelDeployment(id: $id) { ${DEPLOYMENT_FIELDS} } }`,
  pause: `mutation DashboardPause($id: ID!) { pauseDeployment(id: $id) { ${DEPLOYMENT_FIELDS} } }`,
  resume: `mutation DashboardResume($id: ID!) { resumeDeployment(id: $id) { ${DEPLOYMENT_FIELDS} } }`,
  approve: `mutation DashboardApprove($id: ID!, $comment: String) { approveDeployment(id: $id, comment: $comment) { ${DEPLOYMENT_FIELDS} } }`,
  reject: `mutation DashboardReject($id: ID!, $reason: String!) { rejectDeployment(id: $id, reason: $reason) { ${DEPLOYMENT_FIELDS} } }`,
  promote: `mutation DashboardPromote($id: ID!) { promoteDeployment(id: $id) { ${DEPLOYMENT_FIELDS} } }`,
};

export const SUBSCRIPTIONS = {
  started: 'subscription DashboardStarted { deploymentStarted { id fraise environment status } }',
  completed: 'subscription DashboardCompleted { deploymentCompleted { id fraise environment status errorMessage } }',
  waiting: 'subscription DashboardWaiting { deploymentWaiting { id fraise environment status } }',
  webhook: 'subscription DashboardWebhook { webhookReceived { id } }',
  health: 'subscription DashboardHealth { environmentStatusChanged { fraise environment status previous message at } }',
  progress: `subscription DashboardProgress($id: ID!) {
    deploymentProgress(deploymentId: $id) { sequence step progress message timestamp traffic { slot port version weight } }
  }`,
};
