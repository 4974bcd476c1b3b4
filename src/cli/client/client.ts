import type { DeploymentResultView, DeploymentView, FraiseView, NotificationView, ProgressView, StatsView, TargetHealthView, WebhookEventView } from './views.js';

/**
 * What every command reads and does, whatever the mode: locally on the configured store
 * (through the app's services, as the open principal), or remotely through a server's GraphQL
 * API. Commands are written once, against this; both implementations return the API's shapes,
 * so the output is the same. Failures are CliErrors (one line, the exit code decided).
 */
export interface FraisierClient {
  readonly mode: 'local' | 'remote';
  /** The store (password hidden) or the server URL: for messages. */
  readonly where: string;
  /**
   * True when this process itself runs the deployments it queues (local mode): a command must
   * then wait for the end, since nobody else may run it.
   */
  readonly runsDeployments: boolean;

  fraises(): Promise<FraiseView[]>;
  fraise(name: string): Promise<FraiseView>;
  deployments(query: DeploymentsQuery): Promise<DeploymentView[]>;
  deployment(id: string): Promise<DeploymentView>;
  stats(query: { fraise?: string; environment?: string; days?: number }): Promise<StatsView>;
  webhookEvents(query: { limit: number; before?: string }): Promise<WebhookEventView[]>;
  /** Notifications, newest first, with their attempts. */
  notifications(query: NotificationsQuery): Promise<NotificationView[]>;
  logs(fraise: string, environment: string, lines: number): Promise<string>;
  /** The environment's health as its target says now (not the recorded status). */
  targetHealth(fraise: string, environment: string): Promise<TargetHealthView>;
  /** Stops or starts the environment's service. */
  control(action: 'stop' | 'start', fraise: string, environment: string): Promise<{ success: boolean; message: string }>;

  deploy(input: { fraise: string; environment: string; dryRun?: boolean; force?: boolean; commit?: string }): Promise<DeploymentResultView>;
  rollback(input: { fraise: string; environment: string; toVersion?: string }): Promise<DeploymentResultView>;
  /** Queues a run of one of the environment's jobs now. */
  runJob(input: { fraise: string; environment: string; job: string }): Promise<DeploymentResultView>;
  cancel(id: string): Promise<DeploymentView>;
  /** Pause, resume or promote a running deployment (whichever process runs it). */
  steer(action: 'pause' | 'resume' | 'promote', id: string): Promise<DeploymentView>;
  /** An approver's decision on a deployment waiting on its approvals gate: a comment (optional) or the rejection's reason. */
  decide(decision: 'approve' | 'reject', id: string, text: string | undefined): Promise<DeploymentView>;

  /**
   * Streams a deployment's progress (what was recorded, then live, in order, no duplicates)
   * until it ends; resolves with its final state. Local mode runs it here if nobody else
   * claimed it. Aborting the signal stops following (the deployment goes on).
   */
  follow(id: string, onProgress: (event: ProgressView) => void, signal?: AbortSignal): Promise<DeploymentView>;

  close(): Promise<void>;
}

export interface DeploymentsQuery {
  fraise?: string;
  environment?: string;
  status?: string;
  limit: number;
  before?: string;
  since?: Date;
}

export interface NotificationsQuery {
  deploymentId?: string;
  /** Upper case, as the API's enum. */
  status?: string;
  first: number;
  before?: string;
}
