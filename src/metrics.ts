import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of one app (its own registry: two apps in one process, as in tests, do
 * not share counters). Served at /metrics.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly webhookDeliveries = new Counter({
    name: 'fraisier_webhook_deliveries_total',
    help: 'Webhook deliveries by provider and outcome (accepted, duplicate, ignored, refused, invalid_signature, too_large, rate_limited, unavailable, bad_request)',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly webhookLatency = new Histogram({
    name: 'fraisier_webhook_duration_seconds',
    help: 'Time to answer a webhook delivery',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  readonly deploymentsQueued = new Counter({
    name: 'fraisier_deployments_queued_total',
    help: 'Deployments queued, by trigger',
    labelNames: ['trigger'] as const,
    registers: [this.registry],
  });

  readonly deploymentsFinished = new Counter({
    name: 'fraisier_deployments_finished_total',
    help: 'Deployments ended, by status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly deploymentDuration = new Histogram({
    name: 'fraisier_deployment_duration_seconds',
    help: 'Duration of deployments that ran, by status',
    labelNames: ['status'] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800],
    registers: [this.registry],
  });

  readonly queueWait = new Histogram({
    name: 'fraisier_deployment_queue_wait_seconds',
    help: 'Time from request to start',
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [this.registry],
  });

  readonly notificationAttempts = new Counter({
    name: 'fraisier_notification_attempts_total',
    help: 'Notification attempts by destination type and outcome (delivered, retry, failed, disabled)',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly running = new Gauge({
    name: 'fraisier_deployments_running',
    help: 'Deployments running in this process',
    registers: [this.registry],
  });

  readonly subscribers = new Gauge({
    name: 'fraisier_subscribers',
    help: 'Subscription listeners attached to the event bus',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'fraisier_' });
  }
}
