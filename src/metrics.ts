import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DoraFigures } from './model.js';

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

  /**
   * DORA's four keys per fraise and environment, read from the store when /metrics is scraped
   * (one read per scrape, shared by the four gauges). `read` answers for the last 30 days.
   */
  observeDora(read: () => Promise<DoraFigures[]>): void {
    let pending: { at: number; figures: Promise<DoraFigures[]> } | undefined;
    const figures = () => {
      if (!pending || Date.now() - pending.at > 1_000) pending = { at: Date.now(), figures: read().catch(() => []) };
      return pending.figures;
    };
    const gauge = (name: string, help: string, pick: (f: DoraFigures) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ['fraise', 'environment'] as const,
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const f of await figures()) {
            const value = pick(f);
            if (value !== null) this.set({ fraise: f.fraise, environment: f.environment }, value);
          }
        },
      });
    gauge('fraisier_dora_deployment_frequency_per_day', 'DORA: successful deployments per day over the last 30 days', (f) => f.deploymentFrequency);
    gauge('fraisier_dora_lead_time_seconds', 'DORA: median time from commit to its deployment\'s success over the last 30 days', (f) => f.leadTimeSeconds);
    gauge('fraisier_dora_change_failure_ratio', 'DORA: failed or rolled-back deployments among those that ran to an outcome over the last 30 days, 0..1', (f) =>
      f.changeFailureRate === null ? null : f.changeFailureRate / 100,
    );
    gauge('fraisier_dora_time_to_restore_seconds', 'DORA: median time from a failure to the next success over the last 30 days', (f) => f.timeToRestoreSeconds);
  }
}
