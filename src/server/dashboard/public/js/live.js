import { createClient } from '/vendor/graphql-ws/client.js';
import { ApiError } from './api.js';

/*
 * Subscriptions over graphql-ws (the server's own client library, served from node_modules).
 * The token goes in connection_init. When the socket drops (a server restart), the client
 * reconnects with exponential backoff and jitter, forever, and re-sends every subscription
 * still open; `onConnected` lets the page re-read what it may have missed while it had no
 * subscription (before the first connection too: the page's first reads race with it).
 */

/** Close code the server uses when connection_init carries no valid token. */
const FORBIDDEN = 4403;

/** 0.5–1 s, 1–2 s, 2–4 s, ... up to 15–30 s. */
export function backoffMs(retries) {
  const ceiling = Math.min(30_000, 1_000 * 2 ** retries);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/**
 * @param {{ token: string | null,
 *   onState: (state: 'connecting' | 'live' | 'reconnecting' | 'refused', detail?: string) => void,
 *   onConnected: (reconnected: boolean) => void }} options
 */
export function createLive({ token, onState, onConnected }) {
  const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`;
  let connectedOnce = false;
  let disposed = false;
  const client = createClient({
    url,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: Infinity,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, backoffMs(retries))),
    // A browser reports a refused connection as an error event, not a close: retry those too.
    // A refused token (4403) will not get better by retrying.
    shouldRetry: (event) => !(event && typeof event === 'object' && 'code' in event && event.code === FORBIDDEN),
    on: {
      connecting: (isRetry) => onState(isRetry || connectedOnce ? 'reconnecting' : 'connecting'),
      connected: (_socket, _payload, wasRetry) => {
        const reconnected = wasRetry || connectedOnce;
        connectedOnce = true;
        onState('live');
        onConnected(reconnected);
      },
      closed: (event) => {
        if (disposed) return;
        if (event?.code === FORBIDDEN) return onState('refused', 'the server refused the token for live updates');
        onState('reconnecting', event?.code ? `connection closed (${event.code})` : 'connection lost');
      },
    },
  });

  return {
    /**
     * Subscribes; `next` gets each result's data. Errors (as ApiError) go to `error`; `complete`
     * when the server ends the stream. Returns the function that unsubscribes.
     */
    subscribe(query, variables, { next, error = () => {}, complete = () => {} }) {
      return client.subscribe(
        { query, variables },
        {
          next: (result) => {
            if (result.errors?.length) {
              const first = result.errors[0];
              return error(new ApiError(first.message, first.extensions?.code ?? 'ERROR'));
            }
            next(result.data);
          },
          error: (reason) => {
            if (Array.isArray(reason)) return error(new ApiError(reason[0]?.message ?? 'subscription refused', reason[0]?.extensions?.code ?? 'ERROR'));
            if (reason instanceof Error) return error(new ApiError(reason.message, 'NETWORK'));
            const code = reason && typeof reason === 'object' && 'code' in reason ? reason.code : undefined;
            error(new ApiError(code === FORBIDDEN ? 'the server refused the token' : `connection closed${code ? ` (${code})` : ''}`, code === FORBIDDEN ? 'UNAUTHENTICATED' : 'NETWORK'));
          },
          complete,
        },
      );
    },
    dispose() {
      disposed = true;
      return client.dispose();
    },
  };
}
