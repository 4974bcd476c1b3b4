import type { SlotStrategy } from '../config/types.js';
import type { DeployOutcome } from '../providers/provider.js';
import type { Release } from '../providers/release/session.js';
import { BlueGreen, type StrategySession } from './blue-green.js';
import { Canary } from './canary.js';
import type { SlotRuntime } from './slots.js';

/* What a target runs a slot strategy's deployment and rollback through: blue-green or canary. */

export interface SlotDeployer {
  deploy(release: Release): Promise<DeployOutcome>;
  /** Back to `version`; `prepare` makes its release when no slot still runs it. */
  rollback(version: string, prepare: () => Promise<Release>): Promise<DeployOutcome>;
}

export function slotDeployer(s: StrategySession, slots: SlotRuntime, strategy: SlotStrategy): SlotDeployer {
  return strategy.type === 'canary' ? new Canary(s, slots, strategy) : new BlueGreen(s, slots, strategy);
}
