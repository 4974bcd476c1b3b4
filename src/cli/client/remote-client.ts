import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { CliError, EXIT } from '../exit-codes.js';
import type { DeploymentsQuery, FraisierClient, NotificationsQuery } from './client.js';
import * as doc from './documents.js';
import { packageVersion } from '../package-info.js';
import { exitCodeFor, firstLine } from './errors.js';
import type { DeploymentResultView, DeploymentView, FraiseView, NotificationView, ProgressView, StatsView, TargetHealthView, WebhookEventView } from './views.js';

/** How long one HTTP request may take before the server counts as unreachable. */
const REQUEST_TIMEOUT_MS = 60_000;

interface GraphQLErrorBody {
  message: string;
  extensions?: unknown;
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: GraphQLErrorBody[];
}

/**
 * Remote mode: a running server's GraphQL API, over HTTP POST (JSON) for queries and
 * mutations, and over graphql-ws for following a deployment. The token goes in
 * `Authorization: Bearer` (in connection_init over graphql-ws).
 */
export class RemoteClient implements FraisierClient {
  readonly mode = 'remote';
  readonly runsDeployments = false;
  readonly endpoint: string;
  #ws: Client | undefined;

  constructor(
    url: string,
    private readonly token: string | undefined,
  ) {
    this.endpoint = graphqlEndpoint(url);
  }

  get where(): string {
    return this.endpoint.replace(/\/graphql$/, '');
  }

  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body: JSON.stringify({ query, variables: withoutUndefined(variables) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new CliError(`cannot reach the server ${this.where}: ${networkReason(error)}`, EXIT.UNREACHABLE);
    }
    let body: GraphQLResponse<T>;
    try {
      body = (await response.json()) as GraphQLResponse<T>;
    } catch {
      // A proxy in front saying the server behind it is down, or something that is not Fraisier.
      const gateway = response.status === 502 || response.status === 503 || response.status === 504;
      throw new CliError(
        `${this.where} answered HTTP ${response.status} without a GraphQL answer${gateway ? '' : ': is it a Fraisier server?'}`,
        gateway ? EXIT.UNREACHABLE : EXIT.FAILED,
      );
    }
    const error = body.errors?.[0];
    if (error) throw this.#refusal(error);
    if (!body.data) throw new CliError(`${this.where} answered HTTP ${response.status} with no data`, EXIT.FAILED);
    return body.data;
  }

  async fraises(): Promise<FraiseView[]> {
    return (await this.request<{ fraises: FraiseView[] }>(doc.FRAISES)).fraises;
  }

  async fraise(name: string): Promise<FraiseView> {
    return (await this.request<{ fraise: FraiseView }>(doc.FRAISE, { name })).fraise;
  }

  async deployments(query: DeploymentsQuery): Promise<DeploymentView[]> {
    const { since, ...rest } = query;
    return (await this.request<{ deployments: DeploymentView[] }>(doc.DEPLOYMENTS, { ...rest, since: since?.toISOString() })).deployments;
  }

  async deployment(id: string): Promise<DeploymentView> {
    return (await this.request<{ deployment: DeploymentView }>(doc.DEPLOYMENT, { id })).deployment;
  }

  async stats(query: { fraise?: string; environment?: string; days?: number }): Promise<StatsView> {
    return (await this.request<{ stats: StatsView }>(doc.STATS, query)).stats;
  }

  async webhookEvents(query: { limit: number; before?: string }): Promise<WebhookEventView[]> {
    return (await this.request<{ webhookEvents: WebhookEventView[] }>(doc.WEBHOOK_EVENTS, query)).webhookEvents;
  }

  async notifications(query: NotificationsQuery): Promise<NotificationView[]> {
    return (await this.request<{ notifications: NotificationView[] }>(doc.NOTIFICATIONS, { ...query })).notifications;
  }

  async logs(fraise: string, environment: string, lines: number): Promise<string> {
    return (await this.request<{ logs: string }>(doc.LOGS, { fraise, environment, lines })).logs;
  }

  async targetHealth(fraise: string, environment: string): Promise<TargetHealthView> {
    return (await this.request<{ targetHealth: TargetHealthView }>(doc.TARGET_HEALTH, { fraise, environment })).targetHealth;
  }

  async control(action: 'stop' | 'start', fraise: string, environment: string): Promise<{ success: boolean; message: string }> {
    const field = action === 'stop' ? 'stopEnvironment' : 'startEnvironment';
    const data = await this.request<Record<string, { success: boolean; message: string }>>(action === 'stop' ? doc.STOP_ENVIRONMENT : doc.START_ENVIRONMENT, { fraise, environment });
    return data[field]!;
  }

  async deploy(input: { fraise: string; environment: string; dryRun?: boolean; force?: boolean; commit?: string }): Promise<DeploymentResultView> {
    return (await this.request<{ deploy: DeploymentResultView }>(doc.DEPLOY, input)).deploy;
  }

  async rollback(input: { fraise: string; environment: string; toVersion?: string }): Promise<DeploymentResultView> {
    return (await this.request<{ rollback: DeploymentResultView }>(doc.ROLLBACK, input)).rollback;
  }

  async runJob(input: { fraise: string; environment: string; job: string }): Promise<DeploymentResultView> {
    return (await this.request<{ runJob: DeploymentResultView }>(doc.RUN_JOB, input)).runJob;
  }

  async cancel(id: string): Promise<DeploymentView> {
    return (await this.request<{ cancelDeployment: DeploymentView }>(doc.CANCEL, { id })).cancelDeployment;
  }

  async steer(action: 'pause' | 'resume' | 'promote', id: string): Promise<DeploymentView> {
    const [document, field] = ({ pause: [doc.PAUSE, 'pauseDeployment'], resume: [doc.RESUME, 'resumeDeployment'], promote: [doc.PROMOTE, 'promoteDeployment'] } as const)[action];
    return (await this.request<Record<string, DeploymentView>>(document, { id }))[field]!;
  }

  async decide(decision: 'approve' | 'reject', id: string, text: string | undefined): Promise<DeploymentView> {
    if (decision === 'approve') return (await this.request<{ approveDeployment: DeploymentView }>(doc.APPROVE, { id, comment: text })).approveDeployment;
    return (await this.request<{ rejectDeployment: DeploymentView }>(doc.REJECT, { id, reason: text ?? '' })).rejectDeployment;
  }

  async follow(id: string, onProgress: (event: ProgressView) => void, signal?: AbortSignal): Promise<DeploymentView> {
    const ws = (this.#ws ??= createClient({
      url: this.endpoint.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: this.token ? { authorization: `Bearer ${this.token}` } : {},
      // A server restarting (1001, 1006, ...) is retried; a refusal (4xxx) is not.
      shouldRetry: (event) => isCloseEvent(event) && event.code < 4000,
      retryAttempts: 5,
    }));
    let last = 0;
    await new Promise<void>((resolve, reject) => {
      let unsubscribe = () => {};
      const onAbort = () => {
        unsubscribe();
        resolve();
      };
      const settle = (outcome: () => void) => {
        signal?.removeEventListener('abort', onAbort);
        outcome();
      };
      unsubscribe = ws.subscribe<{ deploymentProgress: ProgressView }>(
        { query: doc.PROGRESS, variables: { id } },
        {
          next: (result) => {
            const error = result.errors?.[0];
            if (error) {
              unsubscribe();
              return settle(() => reject(this.#refusal(error)));
            }
            const event = result.data?.deploymentProgress;
            // After a reconnection the subscription replays what was recorded: skip what was seen.
            if (!event || event.sequence <= last) return;
            last = event.sequence;
            onProgress(event);
          },
          error: (error) => settle(() => reject(this.#wsError(error))),
          complete: () => settle(resolve),
        },
      );
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    return this.deployment(id);
  }

  #wsError(error: unknown): CliError {
    if (Array.isArray(error)) return this.#refusal((error[0] as GraphQLErrorBody | undefined) ?? { message: 'the subscription failed' });
    if (isCloseEvent(error)) {
      if (error.code === 4403) return new CliError(`${this.where} refused the WebSocket connection: invalid or missing token`, EXIT.FAILED);
      return new CliError(`lost the connection to ${this.where} (WebSocket closed: ${error.code}${error.reason ? ` ${error.reason}` : ''})`, EXIT.UNREACHABLE);
    }
    return new CliError(`cannot reach the server ${this.where} over WebSocket: ${networkReason(error)}`, EXIT.UNREACHABLE);
  }

  /**
   * The server's GraphQL error as the command's. The documents are this command's own and valid
   * against its schema (tests/cli/version-skew.test.ts), so a server that finds one invalid
   * serves another schema: an older Fraisier, without a field or value this command asks for.
   */
  #refusal(error: GraphQLErrorBody): CliError {
    const code = (error.extensions as { code?: string } | undefined)?.code;
    const message = firstLine(new Error(error.message));
    if (code === 'GRAPHQL_VALIDATION_FAILED') {
      // graphql-js's "Did you mean ...?" names the server's own fields, not what to do.
      const lacking = message.replace(/ Did you mean .*\?$/, '');
      return new CliError(
        `${this.where} does not know what this command asks for (${lacking}): it runs an older Fraisier than this command (${packageVersion()}); upgrade the server, or use the command of its version`,
        EXIT.FAILED,
      );
    }
    return new CliError(message, exitCodeFor(code));
  }

  async close(): Promise<void> {
    await this.#ws?.dispose();
  }
}

/** http://host:8080 → http://host:8080/graphql; a URL already ending in /graphql is kept. */
export function graphqlEndpoint(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`--url: expected the server's URL such as http://127.0.0.1:8080 (got "${url}")`, EXIT.USAGE);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CliError(`--url: expected an http:// or https:// URL (got "${url}")`, EXIT.USAGE);
  }
  parsed.search = '';
  parsed.hash = '';
  const path = parsed.pathname.replace(/\/+$/, '');
  parsed.pathname = path.endsWith('/graphql') ? path : `${path}/graphql`;
  return parsed.toString();
}

function isCloseEvent(value: unknown): value is { code: number; reason: string } {
  return typeof value === 'object' && value !== null && 'code' in value && typeof (value as { code: unknown }).code === 'number' && 'reason' in value;
}

/** "connection refused" rather than "fetch failed". */
function networkReason(error: unknown): string {
  let deepest = firstLine(error);
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    if (depth > 0 && current instanceof Error && current.message) deepest = firstLine(current);
    const code = (current as { code?: unknown }).code;
    if (code === 'ECONNREFUSED') return 'connection refused';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'unknown host';
    if (code === 'ECONNRESET') return 'connection reset';
    if (code === 'ETIMEDOUT' || (current as Error).name === 'TimeoutError') return 'timed out';
    if (typeof code === 'string' && code.startsWith('ERR_TLS') || code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'CERT_HAS_EXPIRED') {
      return `TLS: ${(current as Error).message}`;
    }
    current = (current as { cause?: unknown }).cause ?? (Array.isArray((current as AggregateError).errors) ? (current as AggregateError).errors[0] : undefined);
  }
  return deepest;
}

function withoutUndefined(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}
