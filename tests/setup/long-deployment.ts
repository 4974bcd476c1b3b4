import type { DeploymentProgress } from '../../src/model.js';
import { finishDeployment, insertDeployment } from '../../src/store/deployment.repository.js';
import { insertProgress } from '../../src/store/progress.repository.js';
import type { Db } from '../../src/store/store.js';

/** The message of progress event `sequence`: its number, padded with "x" to `length` characters. */
export function longMessage(sequence: number, length: number): string {
  const head = `line ${sequence} `;
  return head + 'x'.repeat(Math.max(0, length - head.length));
}

/**
 * Records an ended deployment of `fraise`/`environment` with `lines` progress events (as a build
 * that printed that many lines leaves it), each message `messageLength` characters long.
 * Resolves with its id.
 */
export async function recordLongDeployment(
  db: Db,
  options: { fraise: string; environment: string; lines: number; messageLength: number },
): Promise<string> {
  const at = '2026-11-21T10:00:00.000Z';
  const id = await insertDeployment(db, {
    fraise: options.fraise,
    environment: options.environment,
    kind: 'deploy',
    trigger: 'api',
    requestedBy: 'ci',
    requestedAt: at,
    targetProvider: 'bare-metal',
    targetConfig: null,
  });
  await db.transaction().execute(async (trx) => {
    for (let sequence = 1; sequence <= options.lines; sequence++) {
      const event: DeploymentProgress = {
        deploymentId: String(id),
        sequence,
        step: 'build',
        progress: 50,
        message: longMessage(sequence, options.messageLength),
        timestamp: at,
      };
      await insertProgress(trx, event);
    }
    await finishDeployment(trx, id, { status: 'failed', completedAt: at, errorMessage: 'build failed' });
  });
  return String(id);
}
