import { type DeployContext, DeploymentCancelled } from './provider.js';

/*
 * One deployment's walk through its steps, whatever the target: progress as a share of the plan,
 * the environment's deadline, and the step boundaries where a cancel stops it and a pause holds it.
 */
export abstract class StepSession {
  readonly #startedAt = Date.now();
  #stepIndex = -1;

  constructor(
    readonly ctx: DeployContext,
    /** The steps, for progress; a rollback that must rebuild its release runs more of them. */
    public plan: string[],
  ) {}

  /**
   * When the environment's timeout runs out: counted from the start of the deployment, paused
   * time (a strategy's hold, an operator's pause) left out.
   */
  get deadline(): number {
    return this.#startedAt + this.ctx.env.timeoutSeconds * 1000 + this.ctx.control.pausedMs;
  }

  /**
   * A step boundary: a cancelled deployment stops here, a paused one waits here until resumed;
   * unless the step is `committed` (past the point of no return).
   */
  async step(name: string, message?: string, committed = false): Promise<void> {
    if (!committed) {
      if (this.ctx.signal.aborted) throw new DeploymentCancelled();
      await this.ctx.control.checkpoint();
    }
    const index = this.plan.indexOf(name);
    if (index >= 0) this.#stepIndex = index;
    const progress = Math.min(99, Math.round((100 * Math.max(0, this.#stepIndex)) / this.plan.length));
    await this.ctx.reporter.step(name, progress, message);
  }

  log(message: string): Promise<void> {
    return this.ctx.reporter.log(message);
  }
}
