import { type Attributes, type Context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

/*
 * OpenTelemetry traces, only when OTEL_EXPORTER_OTLP_ENDPOINT is set (OTLP/HTTP, the exporter
 * reading its own OTEL_EXPORTER_OTLP_* variables): a trace per webhook delivery and per
 * deployment, a span per step and per command. Off, nothing is made: no provider, no exporter,
 * and every hook below is a check of `undefined`. The provider is this app's, not registered
 * globally (two apps in one process keep their own); parents are passed explicitly. Commands get
 * the current step's context as TRACEPARENT (and TRACESTATE), the environment-variable carrier
 * of the OpenTelemetry specification. Log lines about a deployment (a `deployment` field) carry
 * its trace_id and span_id: the logger's mixin asks `logFields` (no context manager is needed).
 */

export interface Tracing {
  readonly enabled: boolean;
  /** Deployment `id`'s trace, or undefined when tracing is off. */
  deployment(id: string, name: string, attributes: Attributes): DeploymentTrace | undefined;
  /** trace_id and span_id for a log line about a deployment with a trace (pino's mixin). */
  logFields(line: object): Record<string, string>;
  /** Runs `work` inside a webhook delivery's span (a trace of its own); `outcome` names how it ended. */
  delivery<T>(attributes: Attributes, work: () => Promise<T>, outcome: (result: T) => Attributes): Promise<T>;
  /** Sends what is pending and stops. */
  shutdown(): Promise<void>;
}

const propagator = new W3CTraceContextPropagator();

export class DeploymentTrace {
  #step: Span | undefined;

  constructor(
    private readonly tracer: Tracer,
    readonly root: Span,
  ) {}

  /** A step begins: the previous step's span ends, this one's starts (a child of the deployment's). */
  step(name: string): void {
    this.#step?.end();
    this.#step = this.tracer.startSpan(name, { attributes: { 'fraisier.step': name } }, trace.setSpan(ROOT_CONTEXT, this.root));
  }

  /** A command's span, a child of the current step's. */
  command(argv: readonly string[]): Span {
    const executable = (argv[0] ?? '').split('/').pop() ?? '';
    // The arguments may hold secrets from the configuration: only the executable's name is recorded.
    return this.tracer.startSpan(executable, { kind: SpanKind.INTERNAL, attributes: { 'process.executable.name': executable } }, this.#context());
  }

  /** TRACEPARENT (and TRACESTATE) of the current step, for a command's environment. */
  carrier(): Record<string, string> {
    const carrier: Record<string, string> = {};
    propagator.inject(this.#context(), carrier, { set: (c, key, value) => void (c[key] = value) });
    return Object.fromEntries(Object.entries(carrier).map(([key, value]) => [key.toUpperCase(), value]));
  }

  end(status: string, error?: string | null): void {
    this.#step?.end();
    this.#step = undefined;
    this.root.setAttribute('deployment.status', status === 'success' ? 'succeeded' : 'failed');
    this.root.setAttribute('fraisier.deployment.status', status);
    if (status !== 'success') this.root.setStatus({ code: SpanStatusCode.ERROR, ...(error ? { message: error } : {}) });
    this.root.end();
  }

  #context(): Context {
    return trace.setSpan(ROOT_CONTEXT, this.#step ?? this.root);
  }
}

/** Ends a command's span with its exit: an error (with its message) or OK. */
export function endCommand(span: Span, error?: unknown, exitCode?: number | null): void {
  if (exitCode !== undefined && exitCode !== null) span.setAttribute('process.exit.code', exitCode);
  if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message?.slice(0, 500) ?? String(error) });
  span.end();
}

const OFF: Tracing = {
  enabled: false,
  deployment: () => undefined,
  logFields: () => ({}),
  delivery: (_attributes, work) => work(),
  shutdown: async () => {},
};

export function createTracing(options: { env?: NodeJS.ProcessEnv; version?: string; instanceId?: string } = {}): Tracing {
  const env = options.env ?? process.env;
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || (env.OTEL_EXPORTER_OTLP_ENDPOINT ? `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (!url) return OFF;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME ?? 'fraisier',
      ...(options.version ? { [ATTR_SERVICE_VERSION]: options.version } : {}),
      ...(options.instanceId ? { 'service.instance.id': options.instanceId } : {}),
    }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 1_000 })],
  });
  const tracer = provider.getTracer('fraisier');
  // The ids of recent deployments' traces, for their log lines (those after the end included).
  const recent = new Map<string, Record<string, string>>();
  return {
    enabled: true,
    deployment(id, name, attributes) {
      const deployment = new DeploymentTrace(tracer, tracer.startSpan(name, { attributes, root: true }, ROOT_CONTEXT));
      const { traceId, spanId } = deployment.root.spanContext();
      recent.set(id, { trace_id: traceId, span_id: spanId });
      if (recent.size > 1_000) recent.delete(recent.keys().next().value!);
      return deployment;
    },
    logFields(line) {
      const id = (line as { deployment?: unknown }).deployment;
      // A new object each time: pino merges the line into what the mixin returns.
      const ids = id === undefined ? undefined : recent.get(String(id));
      return ids ? { ...ids } : {};
    },
    async delivery(attributes, work, outcome) {
      const span = tracer.startSpan('webhook delivery', { kind: SpanKind.SERVER, attributes, root: true }, ROOT_CONTEXT);
      try {
        const result = await work();
        span.setAttributes(outcome(result));
        return result;
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    },
    async shutdown() {
      await provider.shutdown();
    },
  };
}
