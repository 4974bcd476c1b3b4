/*
 * The GraphQL operations the remote client sends. Their selections are exactly the fields of
 * the views (views.ts), so the remote and local modes print the same thing.
 */

const TARGET = 'target { provider config }';

export const DEPLOYMENT_FIELDS = `
  id fraise environment job status triggeredBy requestedBy requestedAt startedAt completedAt
  durationSeconds oldVersion newVersion gitCommit gitBranch ${TARGET} errorMessage pausedUntil pauseMessage promoted
  gates { kind satisfied message approvals { by decision at comment } } waitingUntil`;

const FRAISE_FIELDS = `
  name type description database { type name strategy }
  environments {
    name branch ${TARGET} currentVersion lastDeployedAt status
    jobs { name description schedule systemdTimer dependsOn }
  }`;

export const FRAISES = `query Fraises { fraises { ${FRAISE_FIELDS} } }`;

export const FRAISE = `query Fraise($name: String!) { fraise(name: $name) { ${FRAISE_FIELDS} } }`;


export const DEPLOYMENTS = `
query Deployments($fraise: String, $environment: String, $status: DeploymentStatus, $limit: Int, $before: ID, $since: DateTime) {
  deployments(fraise: $fraise, environment: $environment, status: $status, limit: $limit, before: $before, since: $since) { ${DEPLOYMENT_FIELDS} }
}`;

export const DEPLOYMENT = `query Deployment($id: ID!) { deployment(id: $id) { ${DEPLOYMENT_FIELDS} } }`;

export const STATS = `
query Stats($fraise: String, $environment: String, $days: Int) {
  stats(fraise: $fraise, environment: $environment, days: $days) { total successful failed rolledBack avgDurationSeconds successRate deploymentFrequency leadTimeSeconds changeFailureRate timeToRestoreSeconds }
}`;

export const WEBHOOK_EVENTS = `
query WebhookEvents($limit: Int, $before: ID) {
  webhookEvents(limit: $limit, before: $before) {
    id receivedAt provider providerName eventType deliveryId repository branch tag commitSha sender
    commitMessage commitAuthor outcome reason processed deployment { id fraise environment status }
  }
}`;

export const NOTIFICATIONS = `
query Notifications($deploymentId: ID, $status: NotificationStatus, $first: Int, $before: ID) {
  notifications(deploymentId: $deploymentId, status: $status, first: $first, before: $before) {
    id eventId event fraise environment deployment { id } healthChange { status previous message at } destination { type target path } status attemptCount
    createdAt nextAttemptAt completedAt lastError attempts { attempt at outcome statusCode error durationMs retryAt }
  }
}`;

export const LOGS = `query Logs($fraise: String!, $environment: String!, $lines: Int) { logs(fraise: $fraise, environment: $environment, lines: $lines) }`;

export const TARGET_HEALTH = `query TargetHealth($fraise: String!, $environment: String!) { targetHealth(fraise: $fraise, environment: $environment) { status message } }`;

export const STOP_ENVIRONMENT = `mutation Stop($fraise: String!, $environment: String!) { stopEnvironment(fraise: $fraise, environment: $environment) { success message } }`;

export const START_ENVIRONMENT = `mutation Start($fraise: String!, $environment: String!) { startEnvironment(fraise: $fraise, environment: $environment) { success message } }`;

const RESULT_FIELDS = `success message dryRun plan deployment { ${DEPLOYMENT_FIELDS} }`;

export const DEPLOY = `
mutation Deploy($fraise: String!, $environment: String!, $dryRun: Boolean, $force: Boolean, $commit: String) {
  deploy(fraise: $fraise, environment: $environment, dryRun: $dryRun, force: $force, commit: $commit, triggeredBy: MANUAL) { ${RESULT_FIELDS} }
}`;

export const ROLLBACK = `
mutation Rollback($fraise: String!, $environment: String!, $toVersion: String) {
  rollback(fraise: $fraise, environment: $environment, toVersion: $toVersion, triggeredBy: MANUAL) { ${RESULT_FIELDS} }
}`;

export const RUN_JOB = `
mutation RunJob($fraise: String!, $environment: String!, $job: String!) {
  runJob(fraise: $fraise, environment: $environment, job: $job, triggeredBy: MANUAL) { ${RESULT_FIELDS} }
}`;

export const CANCEL = `mutation Cancel($id: ID!) { cancelDeployment(id: $id) { ${DEPLOYMENT_FIELDS} } }`;

export const PAUSE = `mutation Pause($id: ID!) { pauseDeployment(id: $id) { ${DEPLOYMENT_FIELDS} } }`;

export const RESUME = `mutation Resume($id: ID!) { resumeDeployment(id: $id) { ${DEPLOYMENT_FIELDS} } }`;

export const PROMOTE = `mutation Promote($id: ID!) { promoteDeployment(id: $id) { ${DEPLOYMENT_FIELDS} } }`;

export const APPROVE = `mutation Approve($id: ID!, $comment: String) { approveDeployment(id: $id, comment: $comment) { ${DEPLOYMENT_FIELDS} } }`;

export const REJECT = `mutation Reject($id: ID!, $reason: String!) { rejectDeployment(id: $id, reason: $reason) { ${DEPLOYMENT_FIELDS} } }`;

export const PROGRESS = `
subscription Progress($id: ID!) {
  deploymentProgress(deploymentId: $id) { deploymentId sequence step progress message timestamp traffic { slot port version weight } }
}`;
