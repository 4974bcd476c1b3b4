import type { EnvironmentConfig } from '../config/types.js';
import type { PrepareInput, Prepared } from './prepare-delivery.js';
import type { DeliveryWrite } from './record-delivery.js';

/*
 * What the thread answering requests and the delivery worker say to each other. A prepared
 * delivery crosses as plain data: its deployments name their environment (the main thread puts
 * its own configuration object back), and a kept payload that is the body's text unchanged is
 * not sent back at all, nor sent there: the worker decodes the bytes. Deliveries cross in
 * batches, those of one turn of the event loop in one message each way: a message per delivery
 * cost more (a thread woken, a message framed, twice per delivery) than the worker saved.
 */

/** A delivery to prepare, as it crosses threads (see PrepareInput). */
export interface WorkerRequest extends Omit<PrepareInput, 'body' | 'now' | 'text' | 'textIsBody'> {
  id: number;
  /** Absent when it is the body decoded as UTF-8 (the worker decodes it). */
  text?: string;
  /** Stored name of a built-in provider. */
  provider: string;
  /** A copy of the body's bytes (its buffer is transferred). */
  body: Uint8Array;
  /** Epoch milliseconds. */
  now: number;
}

/** What the main thread sends: the deliveries of one turn. */
export interface WorkerBatch {
  batch: WorkerRequest[];
}

export type WorkerAnswer = { id: number; prepared: PortablePrepared } | { id: number; error: string };

export type WorkerReply = { ready: true } | { answers: WorkerAnswer[] };

type Ready = Extract<Prepared, { kind: 'ready' }>;
type PortableDeployment = Omit<DeliveryWrite['deployments'][number], 'env'> & { env: Pick<EnvironmentConfig, 'fraise' | 'name'> };

/** Prepared, as it crosses threads. */
export type PortablePrepared =
  | Exclude<Prepared, Ready>
  | (Omit<Ready, 'write'> & {
      write: { event: DeliveryWrite['event']; deployments: PortableDeployment[] };
      /** The event's payload is the body's text as sent (the common case): not sent back. */
      payloadIsText: boolean;
    });

export function toPortable(prepared: Prepared, text: string): PortablePrepared {
  if (prepared.kind === 'invalid') return prepared;
  const { event, deployments } = prepared.write;
  const payloadIsText = event.payload === text;
  // Field by field: in V8, properties added after a spread cost microseconds each time. (A
  // spread that only replaces properties, as below, is fast.)
  return {
    kind: prepared.kind,
    outcome: prepared.outcome,
    reason: prepared.reason,
    syntaxError: prepared.syntaxError,
    write: {
      event: payloadIsText ? { ...event, payload: null } : event,
      deployments: deployments.map((d) => ({ ...d, env: { fraise: d.env.fraise, name: d.env.name } })),
    },
    payloadIsText,
  };
}

export function fromPortable(portable: PortablePrepared, text: string, environment: (fraise: string, name: string) => EnvironmentConfig): Prepared {
  if (portable.kind === 'invalid') return portable;
  const { payloadIsText, write } = portable;
  return {
    kind: portable.kind,
    outcome: portable.outcome,
    reason: portable.reason,
    syntaxError: portable.syntaxError,
    write: {
      event: payloadIsText ? { ...write.event, payload: text } : write.event,
      deployments: write.deployments.map((d) => ({ ...d, env: environment(d.env.fraise, d.env.name) })),
    },
  };
}
