import type { Principal } from '../auth/principal.js';
import type { GateCommands } from '../gates/gate-service.js';
import type { Deployment, DeploymentProgress, DeploymentResult, EnvironmentStatusChange, TriggerType, WebhookEventRecord, WebhookResult } from '../model.js';
import type { Catalog } from './catalog.js';
import type { TargetService } from './targets.js';
import type { QueryService } from './queries.js';

/** Deploy, roll back, run a job, cancel, pause, resume, promote: the write side of deployments. */
export interface DeploymentCommands {
  deploy(principal: Principal, input: DeployInput): Promise<DeploymentResult>;
  rollback(principal: Principal, input: RollbackInput): Promise<DeploymentResult>;
  /** Queues a run of one of the environment's jobs now (scheduled or not). */
  runJob(principal: Principal, input: RunJobInput): Promise<DeploymentResult>;
  cancel(principal: Principal, id: string): Promise<Deployment>;
  /** Pause, resume or promote a running deployment (see DeploymentService.control). */
  control(principal: Principal, action: 'pause' | 'resume' | 'promote', id: string): Promise<Deployment>;
}

export interface DeployInput {
  fraise: string;
  environment: string;
  dryRun?: boolean;
  force?: boolean;
  /** Deploy this commit instead of the branch head. */
  commit?: string | null;
  trigger?: TriggerType;
}

export interface RunJobInput {
  fraise: string;
  environment: string;
  job: string;
  trigger?: TriggerType;
}

export interface RollbackInput {
  fraise: string;
  environment: string;
  toVersion?: string | null;
  trigger?: TriggerType;
}

/** One webhook delivery, as the HTTP route (or a GraphQL client) hands it over. */
export interface WebhookDelivery {
  provider: string;
  payload: string;
  /** The payload's bytes as received, when the caller has them: signatures are over these. */
  body?: Buffer;
  signature?: string | null;
  event?: string | null;
  deliveryId?: string | null;
  /** Every request header, lower-cased names (the GitLab signing scheme needs several). */
  headers?: Record<string, string>;
  sourceIp?: string | null;
}

export interface WebhookIntake {
  process(principal: Principal, delivery: WebhookDelivery): Promise<WebhookResult>;
}

/** How a subscription's stream is bound to its subscriber. */
export interface StreamOptions {
  /** Ends the stream (the request or subscription ended). */
  signal?: AbortSignal;
  /** The subscriber fell too far behind: its connection is cut (see GraphQLContext.dropConnection). */
  onTooSlow?: () => void;
}

/** Live events for subscriptions. */
export interface EventFeed {
  /** Recorded progress first, then live events; ends when the deployment ends. */
  progress(deploymentId: string, options?: StreamOptions): AsyncIterable<DeploymentProgress>;
  /** Deployments as they start running; `visible` filters what this subscriber may see. */
  started(options?: StreamOptions, visible?: (d: Deployment) => boolean): AsyncIterable<Deployment>;
  completed(options?: StreamOptions, visible?: (d: Deployment) => boolean): AsyncIterable<Deployment>;
  /** Deployments as they enter WAITING or their gates change while they wait; live only. */
  waiting(options?: StreamOptions, visible?: (d: Deployment) => boolean): AsyncIterable<Deployment>;
  /** Webhook deliveries as they are recorded (after their transaction committed). */
  webhooks(options?: StreamOptions): AsyncIterable<WebhookEventRecord>;
  /** Changes of environments' health seen by the monitor; live only (the current status is Environment.status). */
  environmentStatus(options?: StreamOptions, visible?: (change: EnvironmentStatusChange) => boolean): AsyncIterable<EnvironmentStatusChange>;
}

/** Everything resolvers may call. Built once per app by createApp. */
export interface AppServices {
  catalog: Catalog;
  queries: QueryService;
  deployments: DeploymentCommands;
  /** Approve or reject a deployment waiting on its environment's approvals gate. */
  gates: GateCommands;
  webhooks: WebhookIntake;
  events: EventFeed;
  /** An environment's target now: logs, health, stop and start, from its provider. */
  targets: Pick<TargetService, 'logs' | 'health' | 'stop' | 'start'>;
}
