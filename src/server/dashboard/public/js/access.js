import { ApiError, graphql, QUERIES } from './api.js';

/*
 * Who the page is for the server. The token is entered once and kept in sessionStorage (gone
 * when the tab closes). What it may do is asked of the server itself with two operations that
 * change nothing: `query { __typename }` needs the read scope, `mutation { __typename }` the
 * deploy scope.
 */

const KEY = 'fraisier.dashboard.token';

export function storedToken() {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: the token lasts as long as the page
  }
}

export function storeToken(token) {
  try {
    sessionStorage.setItem(KEY, token);
  } catch {
    // storage disabled
  }
}

export function forgetToken() {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // storage disabled
  }
}

/**
 * @typedef {{ mode: 'open' | 'signed-out' | 'refused' | 'read' | 'deploy', token: string | null, message: string, canApprove: boolean }} Access
 * open: no tokens configured, anyone reaching the server may deploy; signed-out: tokens are
 * configured and none was given; refused: the token was not accepted; read: it may look, not
 * act; deploy: it may deploy, roll back and cancel. canApprove: it has the approve scope (it may
 * approve or reject deployments waiting for approval, where it is one of the approvers).
 * Rejects (ApiError NETWORK, ...) when the server cannot answer.
 * @returns {Promise<Access>}
 */
export async function probeAccess(token) {
  if (await allowed(QUERIES.canRead, null)) {
    return { mode: 'open', token: null, canApprove: true, message: 'Open API: no tokens are configured, so anyone who can reach this server may deploy.' };
  }
  if (!token) {
    return { mode: 'signed-out', token: null, canApprove: false, message: 'This server requires an API token. Enter one to see deployments (read scope) or to deploy (deploy scope).' };
  }
  try {
    await graphql(QUERIES.canRead, {}, token);
  } catch (error) {
    if (error instanceof ApiError && (error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN')) {
      return { mode: 'refused', token: null, canApprove: false, message: `The token was refused: ${error.message}.` };
    }
    throw error;
  }
  const canApprove = await probeApprove(token);
  const approving = canApprove ? ' It may also approve or reject deployments waiting for approval.' : '';
  try {
    await graphql(QUERIES.canDeploy, {}, token);
    return { mode: 'deploy', token, canApprove, message: `Signed in with a deploy token: you can deploy, roll back and cancel.${approving}` };
  } catch (error) {
    if (error instanceof ApiError && error.code === 'FORBIDDEN') {
      const message = canApprove
        ? `Signed in as an approver: you can approve or reject deployments waiting for approval. Deploy, roll back and cancel are disabled (${error.message}).`
        : `Read-only: ${error.message}. Deploy, roll back and cancel are disabled.`;
      return { mode: 'read', token, canApprove, message };
    }
    throw error;
  }
}

/** Whether the token holds the approve scope, as the server's `viewer` says. */
async function probeApprove(token) {
  const data = await graphql(QUERIES.viewer, {}, token);
  return data.viewer.scopes.includes('approve');
}

/** Does `query` succeed with this token? false on UNAUTHENTICATED/FORBIDDEN, rejects otherwise. */
async function allowed(query, token) {
  try {
    await graphql(query, {}, token);
    return true;
  } catch (error) {
    if (error instanceof ApiError && (error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN')) return false;
    throw error;
  }
}
