import type { Logger } from 'pino';
import { assertCan, type Principal, principalName } from '../auth/principal.js';
import { BadInputError, ConflictError, ForbiddenError } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import { type Deployment, isQueued } from '../model.js';
import type { QueryService } from '../services/queries.js';
import { findDeployment } from '../store/deployment.repository.js';
import { type DecisionResult, listApprovals, recordDecision } from '../store/gate.repository.js';
import { guardStore, type Store } from '../store/store.js';
import { mayApprove } from './evaluate.js';
import { type GateKeeper, recordGateProgress } from './gate-keeper.js';
import type { GateState } from './types.js';

/*
 * approveDeployment and rejectDeployment: an approver's decision on a deployment waiting on the
 * approvals gate of its environment. Who may decide is checked here (the approve scope on that
 * fraise and environment, the rule's approvers, self-approval), not at evaluation. The decision
 * and its line in the deployment's history are one transaction; then the gates are read again at
 * once (a rejection ends the deployment before the answer) and the dispatcher is told (NOTIFY
 * on PostgreSQL), so an approval that opens the last gate starts it on whichever instance claims it.
 */

/** The write side of gates, as resolvers call it. */
export interface GateCommands {
  approve(principal: Principal, id: string, comment?: string | null): Promise<Deployment>;
  reject(principal: Principal, id: string, reason: string): Promise<Deployment>;
}

export interface GateServiceDeps {
  store: Store;
  queries: QueryService;
  bus: EventBus;
  keeper: GateKeeper;
  /** New facts: the dispatcher looks now. */
  dispatch: { notify(): void };
  logger: Logger;
  now: () => Date;
}

/** A comment or a reason is one or a few sentences. */
export const MAX_DECISION_TEXT = 2_000;

/** Thrown inside the decision's transaction so that it rolls back; turned into the answer outside. */
class DecisionRefused extends Error {
  constructor(readonly result: Exclude<DecisionResult, 'recorded'>) {
    super(result);
  }
}

export class GateService implements GateCommands {
  constructor(private readonly deps: GateServiceDeps) {}

  approve(principal: Principal, id: string, comment?: string | null): Promise<Deployment> {
    return this.#decide(principal, id, 'approve', text(comment, 'comment'));
  }

  reject(principal: Principal, id: string, reason: string): Promise<Deployment> {
    const why = text(reason, 'reason');
    if (!why) throw new BadInputError('reason must say why the deployment is rejected (it is recorded and shown in its history)');
    return this.#decide(principal, id, 'reject', why);
  }

  async #decide(principal: Principal, id: string, decision: 'approve' | 'reject', comment: string | null): Promise<Deployment> {
    const { store, keeper, bus, logger, now } = this.deps;
    const deployment = await this.deps.queries.deployment(principal, id);
    const target = `${deployment.fraise}/${deployment.environment}`;
    assertCan(principal, 'approve', deployment.fraise, deployment.environment);
    const rule = deployment.job ? undefined : keeper.protectionOf(deployment.fraise, deployment.environment)?.approvals;
    if (!rule) throw new ConflictError(`deployment ${id} needs no approval: ${target} has no approvals rule (protection.approvals)`);
    if (!isQueued(deployment.status)) {
      throw new ConflictError(`deployment ${id} is not waiting for approval: it is ${deployment.status.toUpperCase()}`);
    }
    const actor = principalName(principal);
    const token = principal.kind === 'token' ? principal.token : { name: actor };
    const refused = mayApprove(rule, token, deployment.requestedBy);
    if (refused) throw new ForbiddenError(`cannot ${decision} deployment ${id}: ${refused}`);

    const numericId = Number(deployment.id);
    const at = now().toISOString();
    const line = `${decision === 'approve' ? 'approved' : 'rejected'} by ${actor}${comment ? `: ${comment}` : ''}`;
    let event;
    try {
      event = await guardStore(() =>
        store.db.transaction().execute(async (trx) => {
          const result = await recordDecision(trx, { deploymentId: numericId, actor, decision, comment, at });
          if (result !== 'recorded') throw new DecisionRefused(result);
          return recordGateProgress(trx, numericId, line, at);
        }),
      );
    } catch (error) {
      if (!(error instanceof DecisionRefused)) throw error;
      throw await this.#refusal(error.result, numericId, actor);
    }
    bus.publish({ type: 'progress', event });
    logger.info({ deployment: numericId, fraise: deployment.fraise, environment: deployment.environment, by: actor, decision }, `deployment ${id} ${line}`);
    // Read again now: a rejection ends it before we answer; an approval shows in its gates.
    let passed: GateState[] | undefined;
    try {
      const outcome = await keeper.evaluate({ id: numericId, fraise: deployment.fraise, environment: deployment.environment, job: deployment.job });
      if (outcome.kind === 'pass') passed = outcome.gates;
    } catch (error) {
      logger.warn({ err: error, deployment: numericId }, 'could not evaluate the gates after a decision; the dispatcher will');
    }
    this.deps.dispatch.notify();
    const after = (await guardStore(() => findDeployment(store.db, numericId))) ?? deployment;
    // Every gate open: the dispatcher is starting it. Until its claim records them, answer with the gates as they are now.
    return passed && isQueued(after.status) ? { ...after, gates: passed } : after;
  }

  async #refusal(result: Exclude<DecisionResult, 'recorded'>, id: number, actor: string): Promise<ConflictError> {
    if (result === 'duplicate') {
      const earlier = (await guardStore(() => listApprovals(this.deps.store.db, id))).find((a) => a.by === actor);
      const what = earlier ? `${earlier.decision === 'approve' ? 'approved' : 'rejected'} it at ${earlier.at}` : 'decided';
      return new ConflictError(`${actor} already ${what}: a decision on deployment ${id} cannot be made twice`);
    }
    const now = await guardStore(() => findDeployment(this.deps.store.db, id));
    return new ConflictError(`deployment ${id} is no longer waiting for approval: it is ${now ? now.status.toUpperCase() : 'gone'}`);
  }
}

/** A comment or reason as recorded: trimmed, null when empty; too long is refused, not cut. */
function text(value: string | null | undefined, name: string): string | null {
  const trimmed = value?.trim() ?? '';
  if (trimmed.length > MAX_DECISION_TEXT) throw new BadInputError(`${name} is too long (${trimmed.length} characters; at most ${MAX_DECISION_TEXT})`);
  return trimmed || null;
}
